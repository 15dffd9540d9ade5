"""Enum values and their names, kept apart from the layouts that use them.

Three vocabularies per enum:
- the model name (what JSON/YAML carry; upper snake case, stable, accepted by build),
- the spec description (shown by the text renderer),
- iasl's wording (ACPICA 20200925, as `iasl -d` prints it), used only by the iasl renderer.
Values not listed are shown as integers and still round-trip.
"""
from __future__ import annotations

# ACPI 6.5 §18.3.2 (error source structure types). 3-5 are reserved for legacy reasons.
HEST_TYPE = {
    0: "IA32_MCE",
    1: "IA32_CMC",
    2: "IA32_NMI",
    6: "AER_ROOT_PORT",
    7: "AER_ENDPOINT",
    8: "AER_BRIDGE",
    9: "GHES",
    10: "GHES_V2",
    11: "IA32_DEFERRED_MCE",
}
HEST_TYPE_ALIASES = {
    "MCE": 0, "IA32_CHECK": 0, "IA32_MACHINE_CHECK": 0,
    "CMC": 1, "IA32_CORRECTED_CHECK": 1, "IA32_CORRECTED_MACHINE_CHECK": 1,
    "NMI": 2,
    "AER_ROOT": 6, "ROOT_PORT": 6,
    "AER_DEVICE": 7, "AER": 7,
    "GENERIC_ERROR": 9, "GENERIC_HARDWARE_ERROR_SOURCE": 9,
    "GHESV2": 10, "GENERIC_ERROR_V2": 10,
    "IA32_DEFERRED_CHECK": 11, "DEFERRED_MCE": 11, "DMC": 11,
}
HEST_TYPE_SPEC = {
    0: "IA-32 Architecture Machine Check Exception",
    1: "IA-32 Architecture Corrected Machine Check",
    2: "IA-32 Architecture NMI Error Source",
    6: "PCI Express Root Port AER",
    7: "PCI Express Device AER",
    8: "PCI Express/PCI-X Bridge AER",
    9: "Generic Hardware Error Source",
    10: "Generic Hardware Error Source version 2",
    11: "IA-32 Architecture Deferred Machine Check",
}
HEST_TYPE_IASL = {
    0: "IA-32 Machine Check Exception",
    1: "IA-32 Corrected Machine Check",
    2: "IA-32 Non-Maskable Interrupt",
    6: "PCI Express Root Port AER",
    7: "PCI Express AER (AER Endpoint)",
    8: "PCI Express/PCI-X Bridge AER",
    9: "Generic Hardware Error Source",
    10: "Generic Hardware Error Source V2",
    11: "IA-32 Deferred Machine Check",
}

# ACPI 6.5 §18.3.2.9 (Hardware Error Notification types).
NOTIFY_TYPE = {
    0: "POLLED",
    1: "EXTERNAL_INTERRUPT",
    2: "LOCAL_INTERRUPT",
    3: "SCI",
    4: "NMI",
    5: "CMCI",
    6: "MCE",
    7: "GPIO_SIGNAL",
    8: "SEA",
    9: "SEI",
    10: "GSIV",
    11: "SDEI",
}
NOTIFY_TYPE_ALIASES = {
    "POLL": 0, "EXTERNAL": 1, "LOCAL": 2, "GPIO": 7, "ARMV8_SEA": 8, "ARMV8_SEI": 9,
    "EXTERNAL_INTERRUPT_GSIV": 10, "SOFTWARE_DELEGATED_EXCEPTION": 11, "SDE": 11,
}
NOTIFY_TYPE_SPEC = {
    0: "Polled",
    1: "External Interrupt",
    2: "Local Interrupt",
    3: "SCI",
    4: "NMI",
    5: "CMCI",
    6: "MCE",
    7: "GPIO-Signal",
    8: "ARMv8 SEA",
    9: "ARMv8 SEI",
    10: "External Interrupt - GSIV",
    11: "Software Delegated Exception",
}
NOTIFY_TYPE_IASL = {
    0: "Polled",
    1: "External Interrupt",
    2: "Local Interrupt",
    3: "SCI",
    4: "NMI",
    5: "CMCI",
    6: "MCE",
    7: "GPIO",
    8: "SEA",
    9: "SEI",
    10: "GSIV",
    11: "Software Delegated Exception",
}
NOTIFY_TYPE_IASL_UNKNOWN = "Unknown Notify Type"

# ACPI 6.5 §5.2.3.2, Table 5.1 (Generic Address Structure, Address Space ID).
GAS_SPACE = {
    0x00: "SYSTEM_MEMORY",
    0x01: "SYSTEM_IO",
    0x02: "PCI_CONFIG",
    0x03: "EMBEDDED_CONTROL",
    0x04: "SMBUS",
    0x05: "SYSTEM_CMOS",
    0x06: "PCI_BAR_TARGET",
    0x07: "IPMI",
    0x08: "GENERAL_PURPOSE_IO",
    0x09: "GENERIC_SERIAL_BUS",
    0x0A: "PCC",
    0x0B: "PRM",
    0x7F: "FFH",
}
GAS_SPACE_ALIASES = {
    "MEMORY": 0, "MEM": 0, "SYSTEMMEMORY": 0, "IO": 1, "SYSTEMIO": 1, "PCI": 2, "PCI_CONFIGURATION": 2,
    "EC": 3, "CMOS": 5, "GPIO": 8, "GENERALPURPOSEIO": 8, "GSB": 9,
    "PLATFORM_COMMUNICATIONS_CHANNEL": 0x0A, "PLATFORM_RUNTIME_MECHANISM": 0x0B,
    "FUNCTIONAL_FIXED_HARDWARE": 0x7F, "FUNCTIONALFIXEDHW": 0x7F,
}
GAS_SPACE_SPEC = {
    0x00: "System Memory",
    0x01: "System I/O",
    0x02: "PCI Configuration",
    0x03: "Embedded Controller",
    0x04: "SMBus",
    0x05: "SystemCMOS",
    0x06: "PciBarTarget",
    0x07: "IPMI",
    0x08: "General PurposeIO",
    0x09: "GenericSerialBus",
    0x0A: "Platform Communications Channel",
    0x0B: "Platform Runtime Mechanism",
    0x7F: "Functional Fixed Hardware",
}


def gas_space_iasl(value: int) -> str:
    """iasl's AcpiUtGetRegionName wording, ranges included."""
    iasl = {
        0x00: "SystemMemory", 0x01: "SystemIO", 0x02: "PCI_Config", 0x03: "EmbeddedControl",
        0x04: "SMBus", 0x05: "SystemCMOS", 0x06: "PCIBARTarget", 0x07: "IPMI",
        0x08: "GeneralPurposeIo", 0x09: "GenericSerialBus", 0x0A: "PCC",
        0x0B: "PlatformRtMechanism", 0x7E: "DataTable", 0x7F: "FunctionalFixedHW",
    }
    if value in iasl:
        return iasl[value]
    if value >= 0x80:
        return "UserDefinedRegion"
    return "InvalidSpaceId"


def gas_space_spec(value: int) -> str:
    if value in GAS_SPACE_SPEC:
        return GAS_SPACE_SPEC[value]
    if value >= 0xC0:
        return "OEM defined"
    return "Reserved"


# ACPI 6.5 §5.2.3.2 (Access Size).
ACCESS_SIZE = {0: "UNDEFINED", 1: "BYTE", 2: "WORD", 3: "DWORD", 4: "QWORD"}
ACCESS_SIZE_ALIASES = {"LEGACY": 0, "8": 1, "16": 2, "32": 3, "64": 4, "QUAD": 4}
ACCESS_SIZE_SPEC = {0: "Undefined (legacy)", 1: "Byte (8-bit)", 2: "Word (16-bit)",
                    3: "DWord (32-bit)", 4: "QWord (64-bit)"}
ACCESS_SIZE_IASL = {0: "Undefined/Legacy", 1: "Byte Access:8", 2: "Word Access:16",
                    3: "DWord Access:32", 4: "QWord Access:64"}
ACCESS_SIZE_IASL_UNKNOWN = "Unknown Width Encoding"

# ACPI 6.5 §18.3.2.1.1 (Machine Check Bank, Status Data Format).
MCA_STATUS_FORMAT = {0: "IA32_MCA", 1: "INTEL64_MCA", 2: "AMD64_MCA"}
MCA_STATUS_FORMAT_SPEC = {0: "IA-32 MCA", 1: "Intel 64 MCA", 2: "AMD64 MCA"}

# ACPI table signatures and the descriptions iasl prints after them (AcpiAhGetTableInfo).
TABLE_DESCRIPTION_IASL = {
    "HEST": "Hardware Error Source Table",
    "BERT": "Boot Error Record Table",
    "EINJ": "Error Injection table",
    "ERST": "Error Record Serialization Table",
}

# Enum kind -> (model names, aliases, spec descriptions). Schemas name an enum by its kind.
ENUMS = {
    "hest_type": (HEST_TYPE, HEST_TYPE_ALIASES, HEST_TYPE_SPEC),
    "notify_type": (NOTIFY_TYPE, NOTIFY_TYPE_ALIASES, NOTIFY_TYPE_SPEC),
    "gas_space": (GAS_SPACE, GAS_SPACE_ALIASES, GAS_SPACE_SPEC),
    "access_size": (ACCESS_SIZE, ACCESS_SIZE_ALIASES, ACCESS_SIZE_SPEC),
    "mca_status_format": (MCA_STATUS_FORMAT, {}, MCA_STATUS_FORMAT_SPEC),
}


def spec_description(kind: str, value: int) -> str:
    """Human wording for an enum value, for the text renderer."""
    if kind == "gas_space":
        return gas_space_spec(value)
    names = ENUMS[kind][2]
    return names.get(value, "Reserved")


def iasl_name(kind: str, value: int):
    """iasl's bracketed wording for an enum value, or None where iasl prints none."""
    if kind == "hest_type":
        return HEST_TYPE_IASL.get(value)
    if kind == "notify_type":
        return NOTIFY_TYPE_IASL.get(value, NOTIFY_TYPE_IASL_UNKNOWN)
    if kind == "gas_space":
        return gas_space_iasl(value)
    if kind == "access_size":
        return ACCESS_SIZE_IASL.get(value, ACCESS_SIZE_IASL_UNKNOWN)
    return None
