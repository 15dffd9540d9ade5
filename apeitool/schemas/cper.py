"""CPER record framing and ACPI error status blocks.

UEFI 2.10 N.2.1 (record header), N.2.2 (section descriptor); ACPI 6.5 18.3.2.7.1 (Generic Error
Status Block, Generic Error Data Entry incl. the revision 0x300 form with a timestamp).
"""
from __future__ import annotations

import re

from ..errors import SpecError
from ..guids import SECTION_KEY_BY_GUID, SECTION_TYPES
from .layout import GUID, U8, U16, U32, U64, Bits, Enum, FieldType, Guid, Hex, Layout, Text, guid_bytes, guid_str

SEVERITIES = {0: "recoverable", 1: "fatal", 2: "corrected", 3: "informational"}
SEVERITY = Enum(U32, SEVERITIES)


class SectionGuid(Guid):
    """A section type GUID; known ones read as their model name ('platform_memory')."""

    def decode(self, vals):
        return self.decode_one(vals[0])

    def decode_one(self, v):
        g = guid_str(v)
        return SECTION_KEY_BY_GUID.get(g, g)

    def encode(self, value, path):
        if isinstance(value, str) and value in SECTION_TYPES:
            value = SECTION_TYPES[value][0]
        return (guid_bytes(value, path),)


SECTION_GUID = SectionGuid()

_TS = re.compile(r"^(\d\d)(\d\d)-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)( precise)?$")


def _bcd(v: int) -> int:
    return (v >> 4) * 10 + (v & 0xF)


class Timestamp(FieldType):
    """UEFI N.2.1 timestamp: BCD seconds, minutes, hours, flags (bit0 precise), day, month, year,
    century. Valid BCD reads as 'CCYY-MM-DDThh:mm:ss[ precise]'; anything else stays a u64."""
    fmt = "8s"
    size = 8

    def decode(self, vals):
        b = vals[0]
        if b == bytes(8):
            return 0
        if b[3] in (0, 1) and all((x >> 4) < 10 and (x & 0xF) < 10 for x in b[:3] + b[4:]):
            s, mi, h, fl, d, mo, y, c = b
            text = f"{c:02x}{y:02x}-{mo:02x}-{d:02x}T{h:02x}:{mi:02x}:{s:02x}"
            return text + (" precise" if fl else "")
        return int.from_bytes(b, "little")

    def encode(self, value, path):
        if isinstance(value, str):
            m = _TS.match(value.strip())
            if m:
                c, y, mo, d, h, mi, s = (int(x, 16) for x in m.groups()[:7])
                return (bytes([s, mi, h, 1 if m.group(8) else 0, d, mo, y, c]),)
        try:
            return (U64.encode(value, path)[0].to_bytes(8, "little"),)
        except SpecError:
            raise SpecError(f"expected a timestamp like '2026-11-21T10:00:00' (add ' precise' "
                            f"for a precise one) or a u64, got {value!r}", field=path) from None

    @staticmethod
    def iso(value):
        """'CCYY-MM-DDThh:mm:ss' text and precision, or None for a raw/zero timestamp."""
        if isinstance(value, str):
            return value.split(" ")[0], value.endswith(" precise")
        return None


def timestamp_fields(value) -> dict:
    """The raw BCD bytes of a model timestamp, decoded (for renderers that print each part)."""
    raw = Timestamp().encode(value, "timestamp")[0]
    s, mi, h, fl, d, mo, y, c = raw
    return {"seconds": _bcd(s), "minutes": _bcd(mi), "hours": _bcd(h), "precise": fl & 1,
            "day": _bcd(d), "month": _bcd(mo), "year": _bcd(y), "century": _bcd(c), "raw": raw}


TIMESTAMP = Timestamp()

SECTION_FLAGS = [("primary", 0, 1), ("containment_warning", 1, 1), ("reset", 2, 1),
                 ("error_threshold_exceeded", 3, 1), ("resource_not_accessible", 4, 1),
                 ("latent_error", 5, 1), ("propagated", 6, 1), ("overflow", 7, 1)]

# UEFI 2.10 N.2.1 Record Header (128 bytes)
RECORD_HEADER = Layout("record header", "UEFI 2.10 N.2.1", [
    ("signature", Text(4)),
    ("revision", U16),
    ("signature_end", U32),
    ("section_count", U16),
    ("error_severity", SEVERITY),
    ("validation_bits", Bits(U32, [("platform_id", 0, 1), ("timestamp", 1, 1), ("partition_id", 2, 1)])),
    ("record_length", U32),
    ("timestamp", TIMESTAMP),
    ("platform_id", GUID),
    ("partition_id", GUID),
    ("creator_id", GUID),
    ("notification_type", GUID),
    ("record_id", U64),
    ("flags", Bits(U32, [("recovered", 0, 1), ("previous_error", 1, 1), ("simulated", 2, 1)])),
    ("persistence_information", U64),
    ("reserved", Hex(12)),
])
RECORD_HEADER_DEFAULTS = {"signature": "CPER", "revision": 0x0100, "signature_end": 0xFFFFFFFF}

# UEFI 2.10 N.2.2 Section Descriptor (72 bytes)
SECTION_DESCRIPTOR = Layout("section descriptor", "UEFI 2.10 N.2.2", [
    ("section_offset", U32),
    ("section_length", U32),
    ("revision", U16),
    ("validation_bits", Bits(U8, [("fru_id", 0, 1), ("fru_text", 1, 1)])),
    ("reserved", U8),
    ("flags", Bits(U32, SECTION_FLAGS)),
    ("section_type", SECTION_GUID),
    ("fru_id", GUID),
    ("section_severity", SEVERITY),
    ("fru_text", Text(20)),
])
SECTION_DESCRIPTOR_DEFAULTS = {"revision": 0x0100}

# ACPI 6.5 Table 18.11 Generic Error Status Block (20 bytes)
BLOCK_STATUS = Bits(U32, [("uncorrectable", 0, 1), ("correctable", 1, 1),
                          ("multiple_uncorrectable", 2, 1), ("multiple_correctable", 3, 1),
                          ("entry_count", 4, 10)])
ERROR_STATUS_BLOCK = Layout("generic error status block", "ACPI 6.5 18.3.2.7.1", [
    ("block_status", BLOCK_STATUS),
    ("raw_data_offset", U32),
    ("raw_data_length", U32),
    ("data_length", U32),
    ("error_severity", SEVERITY),
])

# ACPI 6.5 Table 18.12 Generic Error Data Entry (64 bytes; 72 from revision 0x300)
_GEDE_FIELDS = [
    ("section_type", SECTION_GUID),
    ("error_severity", SEVERITY),
    ("revision", U16),
    ("validation_bits", Bits(U8, [("fru_id", 0, 1), ("fru_text", 1, 1), ("timestamp", 2, 1)])),
    ("flags", Bits(U8, SECTION_FLAGS)),
    ("error_data_length", U32),
    ("fru_id", GUID),
    ("fru_text", Text(20)),
]
DATA_ENTRY = Layout("generic error data entry", "ACPI 6.5 18.3.2.7.1", _GEDE_FIELDS)
DATA_ENTRY_V300 = Layout("generic error data entry (rev 0x300)", "ACPI 6.5 18.3.2.7.1",
                         _GEDE_FIELDS + [("timestamp", TIMESTAMP)])
DATA_ENTRY_DEFAULT_REVISION = 0x0300
