"""Hardware Error Source Table: ACPI 6.5 §18.3.2.

The table is a 36-byte header, Error Source Count, then error source structures walked by their
per-type lengths (never by the count, which firmware gets wrong; see the iasl templates).
Each structure below is fixed-size; the machine-check types are followed by Num Hardware Banks banks.
"""
from construct import Default, Struct

from .common import BitFlags, NamedEnum, U, U8, U16, U32, U64
from .gas import Gas
from .notify import Notify

HEST_HEADER_SIZE = 40  # SDT header + Error Source Count

# Error Source Count: ACPI 6.5 §18.3.2 (the part after the SDT header).
HestBody = Struct(
    "error_source_count" / U32 * "Error Source Count",
)

# Flags of the machine-check types: bit 2 GHES_ASSIST is reserved when FIRMWARE_FIRST is set.
MC_FLAGS = [("firmware_first", 0, "Firmware First"), ("ghes_assist", 2, "GHES Assist")]
# Flags of the AER types: GLOBAL (bit 1) makes Bus/Device/Function ignored.
# The fourth item is the bit iasl 20200925 prints under the label: its table says FLAG0 for "Global".
AER_FLAGS = [("firmware_first", 0, "Firmware First"), ("global", 1, "Global", 0)]

SourceType = NamedEnum(U16, "hest_type")

# Machine Check Error Bank Structure: ACPI 6.5 §18.3.2.1.1 (28 bytes).
McBank = Struct(
    "bank_number" / U8 * "Bank Number",
    "clear_status_on_init" / Default(U8, 0) * "Clear Status On Init",
    "status_format" / Default(NamedEnum(U8, "mca_status_format"), 0) * "Status Format",
    "reserved" / Default(U8, 0) * "Reserved",
    "control_register" / Default(U32, 0) * "Control Register",
    "control_data" / Default(U64, 0) * "Control Data",
    "status_register" / Default(U32, 0) * "Status Register",
    "address_register" / Default(U32, 0) * "Address Register",
    "misc_register" / Default(U32, 0) * "Misc Register",
)
MC_BANK_SIZE = 28
assert McBank.sizeof() == MC_BANK_SIZE


def _head(reserved_label, flags):
    """Type, Source Id, Reserved, Flags, Enabled, records/sections: common to types 0, 1, 6, 7, 8, 11."""
    return [
        "type" / SourceType * "Subtable Type",
        "source_id" / U16 * "Source Id",
        "reserved1" / Default(U16, 0) * reserved_label,
        "flags" / Default(BitFlags(U8, flags), 0) * "Flags (decoded below)",
        "enabled" / Default(U8, 1) * "Enabled",
        "records_to_preallocate" / Default(U32, 1) * "Records To Preallocate",
        "max_sections_per_record" / Default(U32, 1) * "Max Sections Per Record",
    ]


# IA-32 Architecture Machine Check Exception: ACPI 6.5 §18.3.2.1 (40 bytes + banks).
Ia32Mce = Struct(
    *_head("Reserved1", MC_FLAGS),
    "global_capability_data" / Default(U64, 0) * "Global Capability Data",
    "global_control_data" / Default(U64, 0) * "Global Control Data",
    "num_hardware_banks" / U8 * "Num Hardware Banks",
    "reserved2" / Default(U(7), 0) * "Reserved2",
)

# IA-32 Architecture Corrected Machine Check: ACPI 6.5 §18.3.2.2 (48 bytes + banks).
# The Deferred Machine Check (§18.3.2.10, ACPI 6.3+) has the same layout.
Ia32Cmc = Struct(
    *_head("Reserved1", MC_FLAGS),
    "notify" / Notify * "Notify",
    "num_hardware_banks" / U8 * "Num Hardware Banks",
    "reserved2" / Default(U(3), 0) * "Reserved2",
)
Ia32DeferredMce = Ia32Cmc

# IA-32 Architecture NMI Error Source: ACPI 6.5 §18.3.2.3 (20 bytes).
Ia32Nmi = Struct(
    "type" / SourceType * "Subtable Type",
    "source_id" / U16 * "Source Id",
    "reserved1" / Default(U32, 0) * "Reserved",
    "records_to_preallocate" / Default(U32, 1) * "Records To Preallocate",
    "max_sections_per_record" / Default(U32, 1) * "Max Sections Per Record",
    "max_raw_data_length" / Default(U32, 0x1000) * "Max Raw Data Length",
)

_AER_COMMON = [
    *_head("Reserved", AER_FLAGS),
    "bus" / Default(U32, 0) * "Bus",  # bits 7:0 bus, 23:8 PCI segment
    "device" / Default(U16, 0) * "Device",
    "function" / Default(U16, 0) * "Function",
    "device_control" / Default(U16, 0) * "DeviceControl",
    "reserved2" / Default(U16, 0) * "Reserved",
    "uncorrectable_mask" / Default(U32, 0) * "Uncorrectable Mask",
    "uncorrectable_severity" / Default(U32, 0) * "Uncorrectable Severity",
    "correctable_mask" / Default(U32, 0) * "Correctable Mask",
    "advanced_capabilities" / Default(U32, 0) * "Advanced Capabilities",
]

# PCI Express Root Port AER: ACPI 6.5 §18.3.2.4 (48 bytes).
AerRootPort = Struct(
    *_AER_COMMON,
    "root_error_command" / Default(U32, 0) * "Root Error Command",
)

# PCI Express Device AER: ACPI 6.5 §18.3.2.5 (44 bytes).
AerEndpoint = Struct(*_AER_COMMON)

# PCI Express/PCI-X Bridge AER: ACPI 6.5 §18.3.2.6 (56 bytes).
AerBridge = Struct(
    *_AER_COMMON,
    "secondary_uncorrectable_mask" / Default(U32, 0) * "2nd Uncorrectable Mask",
    "secondary_uncorrectable_severity" / Default(U32, 0) * "2nd Uncorrectable Severity",
    "secondary_advanced_capabilities" / Default(U32, 0) * "2nd Advanced Capabilities",
)

_GHES_COMMON = [
    "type" / SourceType * "Subtable Type",
    "source_id" / U16 * "Source Id",
    "related_source_id" / Default(U16, 0xFFFF) * "Related Source Id",
    "reserved1" / Default(U8, 0) * "Reserved",  # the spec's Flags byte, reserved for GHES
    "enabled" / Default(U8, 1) * "Enabled",
    "records_to_preallocate" / Default(U32, 1) * "Records To Preallocate",
    "max_sections_per_record" / Default(U32, 1) * "Max Sections Per Record",
    "max_raw_data_length" / Default(U32, 0x1000) * "Max Raw Data Length",
    "error_status_address" / Gas * "Error Status Address",
    "notify" / Notify * "Notify",
    "error_status_block_length" / Default(U32, 0x1000) * "Error Status Block Length",
]

# Generic Hardware Error Source: ACPI 6.5 §18.3.2.7 (64 bytes).
Ghes = Struct(*_GHES_COMMON)

# Generic Hardware Error Source version 2: ACPI 6.5 §18.3.2.8 (92 bytes).
# OSPM acknowledges a record by writing (read(ReadAck) & Preserve) | Write.
GhesV2 = Struct(
    *_GHES_COMMON,
    "read_ack_register" / Gas * "Read Ack Register",
    "read_ack_preserve" / Default(U64, 0xFFFFFFFFFFFFFFFE) * "Read Ack Preserve",
    "read_ack_write" / Default(U64, 1) * "Read Ack Write",
)

# Type number -> (structure, has machine-check banks).
SOURCE_STRUCTS = {
    0: (Ia32Mce, True),
    1: (Ia32Cmc, True),
    2: (Ia32Nmi, False),
    6: (AerRootPort, False),
    7: (AerEndpoint, False),
    8: (AerBridge, False),
    9: (Ghes, False),
    10: (GhesV2, False),
    11: (Ia32DeferredMce, True),
}

SOURCE_SIZES = {t: s.sizeof() for t, (s, _b) in SOURCE_STRUCTS.items()}
assert SOURCE_SIZES == {0: 40, 1: 48, 2: 20, 6: 48, 7: 44, 8: 56, 9: 64, 10: 92, 11: 48}
