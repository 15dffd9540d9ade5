"""Generic Address Structure: ACPI 6.5 §5.2.3.2, Table 5.1 (12 bytes)."""
from construct import Default, Struct

from .common import NamedEnum, U8, U64

GAS_SIZE = 12

Gas = Struct(
    "space_id" / Default(NamedEnum(U8, "gas_space"), "SYSTEM_MEMORY") * "Space ID",
    "bit_width" / Default(U8, 64) * "Bit Width",
    "bit_offset" / Default(U8, 0) * "Bit Offset",
    "access_size" / Default(NamedEnum(U8, "access_size"), "QWORD") * "Encoded Access Width",
    "address" / Default(U64, 0) * "Address",
)
assert Gas.sizeof() == GAS_SIZE
