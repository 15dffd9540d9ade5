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

def _titled(model_names: dict) -> dict:
    """Spec wording derived from model names where the spec's words are the same (SET_ERROR_TYPE ->
    Set Error Type)."""
    return {k: v.replace("_", " ").title().replace("Einjv2", "EINJv2") for k, v in model_names.items()}


# EINJ injection actions: ACPI 6.5 §18.6.3 (0x10/0x11 from the EINJv2 ECR, as Linux/ACPICA/fwts name them).
EINJ_ACTION = {
    0x00: "BEGIN_INJECTION_OPERATION",
    0x01: "GET_TRIGGER_ERROR_ACTION_TABLE",
    0x02: "SET_ERROR_TYPE",
    0x03: "GET_ERROR_TYPE",
    0x04: "END_OPERATION",
    0x05: "EXECUTE_OPERATION",
    0x06: "CHECK_BUSY_STATUS",
    0x07: "GET_COMMAND_STATUS",
    0x08: "SET_ERROR_TYPE_WITH_ADDRESS",
    0x09: "GET_EXECUTE_OPERATION_TIMINGS",
    0x10: "EINJV2_SET_ERROR_TYPE",
    0x11: "EINJV2_GET_ERROR_TYPE",
    0xFF: "TRIGGER_ERROR",
}
EINJ_ACTION_SPEC = _titled(EINJ_ACTION)
EINJ_ACTION_IASL = {
    0x00: "Begin Operation", 0x01: "Get Trigger Table", 0x02: "Set Error Type", 0x03: "Get Error Type",
    0x04: "End Operation", 0x05: "Execute Operation", 0x06: "Check Busy Status",
    0x07: "Get Command Status", 0x08: "Set Error Type With Address", 0x09: "Get Execute Timings",
}

# EINJ instructions: ACPI 6.5 §18.6.4; 0x05 FLUSH_CACHELINE is an ACPICA/Linux extension.
EINJ_INSTRUCTION = {0: "READ_REGISTER", 1: "READ_REGISTER_VALUE", 2: "WRITE_REGISTER",
                    3: "WRITE_REGISTER_VALUE", 4: "NOOP", 5: "FLUSH_CACHELINE"}
EINJ_INSTRUCTION_SPEC = _titled(EINJ_INSTRUCTION)
EINJ_INSTRUCTION_IASL = {0: "Read Register", 1: "Read Register Value", 2: "Write Register",
                         3: "Write Register Value", 4: "Noop", 5: "Flush Cacheline"}

# ERST serialization actions: ACPI 6.5 §18.5.1.1 (0x0C is reserved).
ERST_ACTION = {
    0x00: "BEGIN_WRITE_OPERATION",
    0x01: "BEGIN_READ_OPERATION",
    0x02: "BEGIN_CLEAR_OPERATION",
    0x03: "END_OPERATION",
    0x04: "SET_RECORD_OFFSET",
    0x05: "EXECUTE_OPERATION",
    0x06: "CHECK_BUSY_STATUS",
    0x07: "GET_COMMAND_STATUS",
    0x08: "GET_RECORD_IDENTIFIER",
    0x09: "SET_RECORD_IDENTIFIER",
    0x0A: "GET_RECORD_COUNT",
    0x0B: "BEGIN_DUMMY_WRITE_OPERATION",
    0x0D: "GET_ERROR_LOG_ADDRESS_RANGE",
    0x0E: "GET_ERROR_LOG_ADDRESS_RANGE_LENGTH",
    0x0F: "GET_ERROR_LOG_ADDRESS_RANGE_ATTRIBUTES",
    0x10: "GET_EXECUTE_OPERATION_TIMINGS",
}
ERST_ACTION_SPEC = _titled(ERST_ACTION)
ERST_ACTION_IASL = {
    0x00: "Begin Write Operation", 0x01: "Begin Read Operation", 0x02: "Begin Clear Operation",
    0x03: "End Operation", 0x04: "Set Record Offset", 0x05: "Execute Operation",
    0x06: "Check Busy Status", 0x07: "Get Command Status", 0x08: "Get Record Identifier",
    0x09: "Set Record Identifier", 0x0A: "Get Record Count", 0x0B: "Begin Dummy Write",
    0x0C: "Unused/Unknown Action", 0x0D: "Get Error Address Range", 0x0E: "Get Error Address Length",
    0x0F: "Get Error Attributes", 0x10: "Execute Timings",
}

# ERST serialization instructions: ACPI 6.5 §18.5.1.2.
ERST_INSTRUCTION = {
    0x00: "READ_REGISTER", 0x01: "READ_REGISTER_VALUE", 0x02: "WRITE_REGISTER",
    0x03: "WRITE_REGISTER_VALUE", 0x04: "NOOP", 0x05: "LOAD_VAR1", 0x06: "LOAD_VAR2",
    0x07: "STORE_VAR1", 0x08: "ADD", 0x09: "SUBTRACT", 0x0A: "ADD_VALUE", 0x0B: "SUBTRACT_VALUE",
    0x0C: "STALL", 0x0D: "STALL_WHILE_TRUE", 0x0E: "SKIP_NEXT_INSTRUCTION_IF_TRUE", 0x0F: "GOTO",
    0x10: "SET_SRC_ADDRESS_BASE", 0x11: "SET_DST_ADDRESS_BASE", 0x12: "MOVE_DATA",
}
ERST_INSTRUCTION_SPEC = _titled(ERST_INSTRUCTION)
ERST_INSTRUCTION_IASL = {
    0x00: "Read Register", 0x01: "Read Register Value", 0x02: "Write Register",
    0x03: "Write Register Value", 0x04: "Noop", 0x05: "Load Var1", 0x06: "Load Var2",
    0x07: "Store Var1", 0x08: "Add", 0x09: "Subtract", 0x0A: "Add Value", 0x0B: "Subtract Value",
    0x0C: "Stall", 0x0D: "Stall While True", 0x0E: "Skip Next If True", 0x0F: "GoTo",
    0x10: "Set Source Address", 0x11: "Set Destination Address", 0x12: "Move Data",
}

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
    "einj_action": (EINJ_ACTION, {"BEGIN_OPERATION": 0, "GET_TRIGGER_TABLE": 1}, EINJ_ACTION_SPEC),
    "einj_instruction": (EINJ_INSTRUCTION, {}, EINJ_INSTRUCTION_SPEC),
    "erst_action": (ERST_ACTION, {}, ERST_ACTION_SPEC),
    "erst_instruction": (ERST_INSTRUCTION, {"SKIP_NEXT_IF_TRUE": 0x0E}, ERST_INSTRUCTION_SPEC),
}

# Enum kind -> (iasl names, iasl's word for values it does not know).
_IASL = {
    "hest_type": (HEST_TYPE_IASL, None),
    "notify_type": (NOTIFY_TYPE_IASL, NOTIFY_TYPE_IASL_UNKNOWN),
    "access_size": (ACCESS_SIZE_IASL, ACCESS_SIZE_IASL_UNKNOWN),
    "einj_action": (EINJ_ACTION_IASL, "Unknown Action"),
    "einj_instruction": (EINJ_INSTRUCTION_IASL, "Unknown Instruction"),
    "erst_action": (ERST_ACTION_IASL, "Unknown Action"),
    "erst_instruction": (ERST_INSTRUCTION_IASL, "Unknown Instruction"),
}


def spec_description(kind: str, value: int) -> str:
    """Human wording for an enum value, for the text renderer."""
    if kind == "gas_space":
        return gas_space_spec(value)
    names = ENUMS[kind][2]
    return names.get(value, "Reserved")


def iasl_name(kind: str, value: int):
    """iasl's bracketed wording for an enum value, or None where iasl prints none."""
    if kind == "gas_space":
        return gas_space_iasl(value)
    if kind not in _IASL:
        return None
    table, unknown = _IASL[kind]
    return table.get(value, unknown)
