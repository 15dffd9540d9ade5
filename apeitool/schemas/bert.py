"""Boot Error Record Table: ACPI 6.5 §18.3.1 (48 bytes): where the boot error region is."""
from construct import Default, Struct

from .common import U32, U64

BertBody = Struct(
    "boot_error_region_length" / Default(U32, 0) * "Boot Error Region Length",
    "boot_error_region_address" / Default(U64, 0) * "Boot Error Region Address",
)
