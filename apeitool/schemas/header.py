"""ACPI System Description Table header: ACPI 6.5 §5.2.6, Table 5.4 (36 bytes).

Table Length and Checksum are ordinary fields here: the table layer derives them on build when a spec
omits them and keeps them when given, so a table with a wrong checksum still round-trips byte for byte.
"""
from construct import Struct

from .common import FixedName, U8, U32

SDT_HEADER_SIZE = 36

SdtHeader = Struct(
    "signature" / FixedName(4) * "Signature",
    "length" / U32 * "Table Length",
    "revision" / U8 * "Revision",
    "checksum" / U8 * "Checksum",
    "oem_id" / FixedName(6) * "Oem ID",
    "oem_table_id" / FixedName(8) * "Oem Table ID",
    "oem_revision" / U32 * "Oem Revision",
    "creator_id" / FixedName(4) * "Asl Compiler ID",
    "creator_revision" / U32 * "Asl Compiler Revision",
)
assert SdtHeader.sizeof() == SDT_HEADER_SIZE

# Values build fills in when a spec leaves them out.
HEADER_DEFAULTS = {
    "revision": 1,
    "oem_id": "APEITL",
    "oem_table_id": "APEITOOL",
    "oem_revision": 1,
    "creator_id": "APEI",
    "creator_revision": 1,
}


def checksum_byte(data: bytes, checksum_offset: int = 9) -> int:
    """The byte that makes the whole table sum to zero mod 256 (ACPI 6.5 §5.2.6)."""
    rest = (sum(data) - data[checksum_offset]) & 0xFF
    return (-rest) & 0xFF


def table_sum(data: bytes) -> int:
    return sum(data) & 0xFF
