"""CPER record framing and ACPI error status blocks, as construct schemas.

UEFI 2.10 N.2.1 (record header), N.2.2 (section descriptor); ACPI 6.5 18.3.2.7.1 (Generic Error
Status Block, Generic Error Data Entry incl. the revision 0x300 form with a timestamp).
The upper-case names (RECORD_HEADER...) are the fast path generated from these (schemas/fast.py).
"""
from __future__ import annotations

from construct import Int8ul, Int16ul, Int32ul, Int64ul, Struct

from .cper_fields import BitFields, Guid, Hex, Names, SectionType, Text, Timestamp
from .fast import compiled

SEVERITIES = {0: "recoverable", 1: "fatal", 2: "corrected", 3: "informational"}


def _severity():
    return Names(Int32ul, SEVERITIES)


def _titled(title: str, ref: str, schema: Struct) -> Struct:
    schema.title, schema.ref = title, ref
    return schema


_TIMESTAMP = Timestamp()


def timestamp_fields(value) -> dict:
    """The raw BCD bytes of a model timestamp, decoded (for renderers that print each part)."""
    raw = _TIMESTAMP.encode_raw(value, "timestamp")
    s, mi, h, fl, d, mo, y, c = raw

    def bcd(v):
        return (v >> 4) * 10 + (v & 0xF)
    return {"seconds": bcd(s), "minutes": bcd(mi), "hours": bcd(h), "precise": fl & 1,
            "day": bcd(d), "month": bcd(mo), "year": bcd(y), "century": bcd(c), "raw": raw}


# UEFI 2.10 N.2.2 Section Descriptor "Flags" (also the Generic Error Data Entry's, ACPI 18.3.2.7.1)
SECTION_FLAGS = [("primary", 0, 1), ("containment_warning", 1, 1), ("reset", 2, 1),
                 ("error_threshold_exceeded", 3, 1), ("resource_not_accessible", 4, 1),
                 ("latent_error", 5, 1), ("propagated", 6, 1), ("overflow", 7, 1)]

# UEFI 2.10 N.2.1 Record Header (128 bytes)
RecordHeader = _titled("record header", "UEFI 2.10 N.2.1", Struct(
    "signature" / Text(4) * "SignatureStart",
    "revision" / Int16ul * "Revision",
    "signature_end" / Int32ul * "SignatureEnd",
    "section_count" / Int16ul * "Section Count",
    "error_severity" / _severity() * "Error Severity",
    "validation_bits" / BitFields(Int32ul, [("platform_id", 0, 1), ("timestamp", 1, 1),
                                            ("partition_id", 2, 1)]) * "Validation Bits",
    "record_length" / Int32ul * "Record Length",
    "timestamp" / Timestamp() * "Timestamp",
    "platform_id" / Guid() * "Platform ID",
    "partition_id" / Guid() * "Partition ID",
    "creator_id" / Guid() * "Creator ID",
    "notification_type" / Guid() * "Notification Type",
    "record_id" / Int64ul * "Record ID",
    "flags" / BitFields(Int32ul, [("recovered", 0, 1), ("previous_error", 1, 1),
                                  ("simulated", 2, 1)]) * "Flags",
    "persistence_information" / Int64ul * "Persistence Information",
    "reserved" / Hex(12) * "Reserved",
))
RECORD_HEADER = compiled(RecordHeader)
RECORD_HEADER_DEFAULTS = {"signature": "CPER", "revision": 0x0100, "signature_end": 0xFFFFFFFF}

# UEFI 2.10 N.2.2 Section Descriptor (72 bytes)
SectionDescriptor = _titled("section descriptor", "UEFI 2.10 N.2.2", Struct(
    "section_offset" / Int32ul * "Section Offset",
    "section_length" / Int32ul * "Section Length",
    "revision" / Int16ul * "Revision",
    "validation_bits" / BitFields(Int8ul, [("fru_id", 0, 1), ("fru_text", 1, 1)]) * "Validation Bits",
    "reserved" / Int8ul * "Reserved",
    "flags" / BitFields(Int32ul, SECTION_FLAGS) * "Flags",
    "section_type" / SectionType() * "Section Type",
    "fru_id" / Guid() * "FRU Id",
    "section_severity" / _severity() * "Section Severity",
    "fru_text" / Text(20) * "FRU Text",
))
SECTION_DESCRIPTOR = compiled(SectionDescriptor)
SECTION_DESCRIPTOR_DEFAULTS = {"revision": 0x0100}

# ACPI 6.5 Table 18.11 Generic Error Status Block (20 bytes)
BLOCK_STATUS_BITS = [("uncorrectable", 0, 1), ("correctable", 1, 1), ("multiple_uncorrectable", 2, 1),
                     ("multiple_correctable", 3, 1), ("entry_count", 4, 10)]
ErrorStatusBlock = _titled("generic error status block", "ACPI 6.5 18.3.2.7.1", Struct(
    "block_status" / BitFields(Int32ul, BLOCK_STATUS_BITS) * "Block Status",
    "raw_data_offset" / Int32ul * "Raw Data Offset",
    "raw_data_length" / Int32ul * "Raw Data Length",
    "data_length" / Int32ul * "Data Length",
    "error_severity" / _severity() * "Error Severity",
))
ERROR_STATUS_BLOCK = compiled(ErrorStatusBlock)


# ACPI 6.5 Table 18.12 Generic Error Data Entry (64 bytes; 72 from revision 0x300)
def _data_entry_fields():
    return [
        "section_type" / SectionType() * "Section Type",
        "error_severity" / _severity() * "Error Severity",
        "revision" / Int16ul * "Revision",
        "validation_bits" / BitFields(Int8ul, [("fru_id", 0, 1), ("fru_text", 1, 1),
                                               ("timestamp", 2, 1)]) * "Validation Bits",
        "flags" / BitFields(Int8ul, SECTION_FLAGS) * "Flags",
        "error_data_length" / Int32ul * "Error Data Length",
        "fru_id" / Guid() * "FRU Id",
        "fru_text" / Text(20) * "FRU Text",
    ]


GenericErrorDataEntry = _titled("generic error data entry", "ACPI 6.5 18.3.2.7.1",
                                Struct(*_data_entry_fields()))
GenericErrorDataEntryV300 = _titled("generic error data entry (rev 0x300)", "ACPI 6.5 18.3.2.7.1",
                                    Struct(*_data_entry_fields(), "timestamp" / Timestamp() * "Timestamp"))
DATA_ENTRY = compiled(GenericErrorDataEntry)
DATA_ENTRY_V300 = compiled(GenericErrorDataEntryV300)
DATA_ENTRY_DEFAULT_REVISION = 0x0300
