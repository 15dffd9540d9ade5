"""CPER section bodies as construct schemas (UEFI 2.10 Appendix N, CXL/CCIX sections, the vendor
sections libcper knows).

Each section is one construct Struct: its fixed head, then its variable parts with the counts and
lengths they take from the head (`Array(this.count, Item)`, `Hex(this.length - n)`, `Hex()` for
the rest). `Valid(bit, ...)` marks a field gated by a validation bit. SECTION_SCHEMAS maps each
section key (apeitool/guids.py) to its schema; BODIES is what the fast walk in cper/body.py uses,
generated from them (schemas/fast.py).

The walk stays code rather than `Struct.parse` because it must do what construct would not: keep
going past counts and lengths that lie (each checked against the bytes present, then reported with
the field that lied), decode a short UEFI 2.1 memory section zero-padded, and keep trailing bytes.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Dict

from construct import Array, Int8ul, Int16ul, Int24ul, Int32ul, Int64ul, Struct, this

from .cper_fields import BitFields, Guid, Hex, Text, Valid
from .fast import Body, compiled, section_body


def _titled(title: str, ref: str, *fields) -> Struct:
    schema = Struct(*fields)
    schema.title, schema.ref = title, ref
    return schema


# UEFI 2.10 N.2.5 Error Status (shared by memory, PCI bus and PCI component sections)
def _error_status():
    return BitFields(Int64ul, [("reserved_low", 0, 8), ("error_type", 8, 8), ("address", 16, 1),
                               ("control", 17, 1), ("data", 18, 1), ("responder", 19, 1),
                               ("requester", 20, 1), ("first_error", 21, 1), ("overflow", 22, 1)])


# UEFI 2.10 N.2.4.1 Processor Generic Error Section (192 bytes)
ProcessorGeneric = _titled("processor generic error section", "UEFI 2.10 N.2.4.1",
    "validation_bits" / Int64ul * "Validation Bits",
    "processor_type" / Valid(0, Int8ul) * "Processor Type",
    "processor_isa" / Valid(1, Int8ul) * "Processor ISA",
    "error_type" / Valid(2, Int8ul) * "Processor Error Type",
    "operation" / Valid(3, Int8ul) * "Operation",
    "flags" / Valid(4, Int8ul) * "Flags",
    "level" / Valid(5, Int8ul) * "Level",
    "reserved" / Int16ul * "Reserved",
    "cpu_version" / Valid(6, Int64ul) * "CPU Version Info",
    "cpu_brand" / Valid(7, Text(128)) * "CPU Brand String",
    "processor_id" / Valid(8, Int64ul) * "Processor ID",
    "target_address" / Valid(9, Int64ul) * "Target Address",
    "requestor_id" / Valid(10, Int64ul) * "Requestor Identifier",
    "responder_id" / Valid(11, Int64ul) * "Responder Identifier",
    "instruction_ip" / Valid(12, Int64ul) * "Instruction IP",
)

# UEFI 2.10 N.2.4.2.1 IA32/X64 Processor Error Information Structure (64 bytes)
Ia32x64ErrorInfo = _titled("IA32/X64 error information structure", "UEFI 2.10 N.2.4.2.1",
    "error_type" / Guid() * "Error Structure Type",
    "validation_bits" / Int64ul * "Validation Bits",
    "check_info" / Valid(0, Int64ul) * "Check Information",
    "target_id" / Valid(1, Int64ul) * "Target Identifier",
    "requestor_id" / Valid(2, Int64ul) * "Requestor Identifier",
    "responder_id" / Valid(3, Int64ul) * "Responder Identifier",
    "instruction_ip" / Valid(4, Int64ul) * "Instruction Pointer",
)
# UEFI 2.10 N.2.4.2.2 IA32/X64 Processor Context Information Structure (16-byte header + registers)
Ia32x64Context = _titled("IA32/X64 processor context structure", "UEFI 2.10 N.2.4.2.2",
    "register_type" / Int16ul * "Register Context Type",
    "array_size" / Int16ul * "Register Array Size",
    "msr_address" / Int32ul * "MSR Address",
    "mm_register_address" / Int64ul * "MM Register Address",
    "register_array" / Hex(this.array_size) * "Register Array",
)
# UEFI 2.10 N.2.4.2 IA32/X64 Processor Error Section
Ia32x64 = _titled("IA32/X64 processor error section", "UEFI 2.10 N.2.4.2",
    "validation_bits" / BitFields(Int64ul, [("lapic_id", 0, 1), ("cpuid", 1, 1), ("error_info_count", 2, 6),
                                            ("context_count", 8, 6)]) * "Validation Bits",
    "lapic_id" / Int64ul * "Local APIC_ID",
    "cpuid" / Hex(48) * "CPUID Info",
    "error_info" / Array(this.validation_bits.error_info_count, Ia32x64ErrorInfo) * "Processor Error Info",
    "context" / Array(this.validation_bits.context_count, Ia32x64Context) * "Processor Context",
)

# UEFI 2.10 N.2.4.4.1 ARM Processor Error Information Structure (32 bytes)
ArmErrorInfo = _titled("ARM processor error information structure", "UEFI 2.10 N.2.4.4.1",
    "version" / Int8ul * "Version",
    "length" / Int8ul * "Length",
    "validation_bits" / Int16ul * "Validation Bit",
    "type" / Int8ul * "Type",
    "multiple_error" / Valid(0, Int16ul) * "Multiple Error",
    "flags" / Valid(1, BitFields(Int8ul, [("first_error_captured", 0, 1), ("last_error_captured", 1, 1),
                                          ("propagated", 2, 1), ("overflow", 3, 1)])) * "Flags",
    "error_info" / Valid(2, Int64ul) * "Error Information",
    "virtual_fault_address" / Valid(3, Int64ul) * "Virtual Fault Address",
    "physical_fault_address" / Valid(4, Int64ul) * "Physical Fault Address",
)
# UEFI 2.10 N.2.4.4.2 ARM Processor Context Information (8-byte header + register array)
ArmContext = _titled("ARM processor context information structure", "UEFI 2.10 N.2.4.4.2",
    "version" / Int16ul * "Version",
    "register_context_type" / Int16ul * "Register Context Type",
    "register_array_size" / Int32ul * "Register Array Size",
    "register_array" / Hex(this.register_array_size) * "Register Array",
)
# UEFI 2.10 N.2.4.4 ARM Processor Error Section
Arm = _titled("ARM processor error section", "UEFI 2.10 N.2.4.4",
    "validation_bits" / Int32ul * "Validation Bit",
    "error_info_num" / Int16ul * "ERR_INFO_NUM",
    "context_info_num" / Int16ul * "CONTEXT_INFO_NUM",
    "section_length" / Int32ul * "Section Length",
    "error_affinity_level" / Valid(1, Int8ul) * "Error Affinity Level",
    "reserved" / Int24ul * "Reserved",
    "mpidr" / Valid(0, Int64ul) * "MPIDR_EL1",
    "midr" / Int64ul * "MIDR_EL1",
    "running_state" / Valid(2, Int32ul) * "Running State",
    "psci_state" / Valid(2, Int32ul) * "PSCI State",
    "error_info" / Array(this.error_info_num, ArmErrorInfo) * "ARM Processor Error Information",
    "context" / Array(this.context_info_num, ArmContext) * "ARM Processor Context Information",
)


# UEFI 2.10 N.2.5 / N.2.6: the first 40 bytes of both memory error sections are the same
def _memory_head():
    return [
        "validation_bits" / Int64ul * "Validation Bits",
        "error_status" / Valid(0, _error_status()) * "Error Status",
        "physical_address" / Valid(1, Int64ul) * "Physical Address",
        "physical_address_mask" / Valid(2, Int64ul) * "Physical Address Mask",
        "node" / Valid(3, Int16ul) * "Node",
        "card" / Valid(4, Int16ul) * "Card",
        "module" / Valid(5, Int16ul) * "Module",
        "bank" / Valid(6, Int16ul) * "Bank",
    ]


# UEFI 2.10 N.2.5 Memory Error Section (80 bytes; 73 in UEFI 2.1/2.2)
PlatformMemory = _titled("memory error section", "UEFI 2.10 N.2.5", *_memory_head(),
    "device" / Valid(7, Int16ul) * "Device",
    "row" / Valid(8, Int16ul) * "Row",
    "column" / Valid(9, Int16ul) * "Column",
    "bit_position" / Valid(10, Int16ul) * "Bit Position",
    "requestor_id" / Valid(11, Int64ul) * "Requestor ID",
    "responder_id" / Valid(12, Int64ul) * "Responder ID",
    "target_id" / Valid(13, Int64ul) * "Target ID",
    "memory_error_type" / Valid(14, Int8ul) * "Memory Error Type",
    "extended" / Valid(18, Int8ul) * "Extended",
    "rank_number" / Valid(15, Int16ul) * "Rank Number",
    "card_handle" / Valid(16, Int16ul) * "Card Handle",
    "module_handle" / Valid(17, Int16ul) * "Module Handle",
)

# UEFI 2.10 N.2.6 Memory Error Section 2 (96 bytes)
PlatformMemory2 = _titled("memory error section 2", "UEFI 2.10 N.2.6", *_memory_head(),
    "device" / Valid(7, Int32ul) * "Device",
    "row" / Valid(8, Int32ul) * "Row",
    "column" / Valid(9, Int32ul) * "Column",
    "rank" / Valid(10, Int32ul) * "Rank",
    "bit_position" / Valid(11, Int32ul) * "Bit Position",
    "chip_id" / Valid(12, Int8ul) * "Chip Identification",
    "memory_error_type" / Valid(13, Int8ul) * "Memory Error Type",
    "status" / Valid(14, Int8ul) * "Status",
    "reserved" / Int8ul * "Reserved",
    "requestor_id" / Valid(15, Int64ul) * "Requestor ID",
    "responder_id" / Valid(16, Int64ul) * "Responder ID",
    "target_id" / Valid(17, Int64ul) * "Target ID",
    "card_handle" / Valid(18, Int32ul) * "Card Handle",
    "module_handle" / Valid(19, Int32ul) * "Module Handle",
)

# UEFI 2.10 N.2.7 PCI Express Error Section (208 bytes)
PcieDeviceId = _titled("PCIe device id", "UEFI 2.10 N.2.7",
    "vendor_id" / Int16ul * "Vendor ID", "device_id" / Int16ul * "Device ID",
    "class_code" / Int24ul * "Class Code", "function" / Int8ul * "Function Number",
    "device" / Int8ul * "Device Number", "segment" / Int16ul * "Segment Number",
    "primary_bus" / Int8ul * "Root-Port/Switch Primary Bus Number",
    "secondary_bus" / Int8ul * "Secondary Bus Number", "slot" / Int16ul * "Slot Number",
    "reserved" / Int8ul * "Reserved",
)
Pcie = _titled("PCI Express error section", "UEFI 2.10 N.2.7",
    "validation_bits" / Int64ul * "Validation Bits",
    "port_type" / Valid(0, Int32ul) * "Port Type",
    "version" / Valid(1, _titled("version", "", "minor" / Int8ul * "Minor", "major" / Int8ul * "Major",
                                 "reserved" / Int16ul * "Reserved")) * "Version",
    "command" / Valid(2, Int16ul) * "Command",
    "status" / Valid(2, Int16ul) * "Status",
    "reserved" / Int32ul * "Reserved",
    "device_id" / Valid(3, PcieDeviceId) * "Device ID",
    "serial_number" / Valid(4, Int64ul) * "Device Serial Number",
    "bridge" / Valid(5, _titled("bridge", "", "secondary_status" / Int16ul * "Secondary Status",
                                "control" / Int16ul * "Control")) * "Bridge Control Status",
    "capability" / Valid(6, Hex(60)) * "Capability Structure",
    "aer_info" / Valid(7, Hex(96)) * "AER Info",
)

# UEFI 2.10 N.2.8 PCI/PCI-X Bus Error Section (72 bytes)
PciBus = _titled("PCI/PCI-X bus error section", "UEFI 2.10 N.2.8",
    "validation_bits" / Int64ul * "Validation Bits",
    "error_status" / Valid(0, _error_status()) * "Error Status",
    "error_type" / Valid(1, Int16ul) * "Error Type",
    "bus_id" / Valid(2, BitFields(Int16ul, [("bus", 0, 8), ("segment", 8, 8)])) * "Bus Id",
    "reserved" / Int32ul * "Reserved",
    "bus_address" / Valid(3, Int64ul) * "Bus Address",
    "bus_data" / Valid(4, Int64ul) * "Bus Data",
    "bus_command" / Valid(5, Int64ul) * "Bus Command",
    "requestor_id" / Valid(6, Int64ul) * "Bus Requestor Id",
    "completer_id" / Valid(7, Int64ul) * "Bus Completer Id",
    "target_id" / Valid(8, Int64ul) * "Target Id",
)

# UEFI 2.10 N.2.9 PCI/PCI-X Component Error Section (40 bytes + register pairs)
RegisterPair = _titled("register pair", "", "address" / Int64ul * "Address", "value" / Int64ul * "Value")
PciComponent = _titled("PCI component error section", "UEFI 2.10 N.2.9",
    "validation_bits" / Int64ul * "Validation Bits",
    "error_status" / Valid(0, _error_status()) * "Error Status",
    "id_info" / Valid(1, _titled("id info", "",
        "vendor_id" / Int16ul * "Vendor Id", "device_id" / Int16ul * "Device Id",
        "class_code" / Int24ul * "Class Code", "function" / Int8ul * "Function Number",
        "device" / Int8ul * "Device Number", "bus" / Int8ul * "Bus Number",
        "segment" / Int8ul * "Segment Number", "reserved" / Hex(5) * "Reserved")) * "Identification Info",
    "memory_number" / Valid(2, Int32ul) * "Memory Number",
    "io_number" / Valid(3, Int32ul) * "IO Number",
    "registers" / Array(this.memory_number + this.io_number, RegisterPair) * "Register Data Pairs",
)

# UEFI 2.10 N.2.10 Firmware Error Record Reference (32 bytes; 16 before revision 2)
FirmwareErrorRecord = _titled("firmware error record reference", "UEFI 2.10 N.2.10",
    "record_type" / Int8ul * "Firmware Error Record Type",
    "revision" / Int8ul * "Revision",
    "reserved" / Hex(6) * "Reserved",
    "record_identifier" / Int64ul * "Record Identifier",
    "record_identifier_guid" / Guid() * "Record Identifier GUID",
)

# UEFI 2.10 N.2.11.1 DMAr Generic Error Section (32 bytes)
DmarGeneric = _titled("DMAr generic error section", "UEFI 2.10 N.2.11.1",
    "requester_id" / Int16ul * "Requester-ID",
    "segment_number" / Int16ul * "Segment Number",
    "fault_reason" / Int8ul * "Fault Reason",
    "access_type" / Int8ul * "Access Type",
    "address_type" / Int8ul * "Address Type",
    "architecture_type" / Int8ul * "Architecture Type",
    "device_address" / Int64ul * "Device Address",
    "reserved" / Hex(16) * "Reserved",
)


def _ptes():
    return [f"pte_l{n}" / Int64ul * f"Page Table Entry Level {n}" for n in (6, 5, 4, 3, 2, 1)]


# UEFI 2.10 N.2.11.2 Intel VT for Directed I/O specific DMAr Error Section (144 bytes)
DmarVtd = _titled("VT-d DMAr error section", "UEFI 2.10 N.2.11.2",
    "version" / Int8ul * "Version", "revision" / Int8ul * "Revision", "oem_id" / Hex(6) * "OEM ID",
    "capability" / Int64ul * "Capability Register", "extended_capability" / Int64ul * "Extended Capability Register",
    "global_command" / Int32ul * "Global Command Register", "global_status" / Int32ul * "Global Status Register",
    "fault_status" / Int32ul * "Fault Status Register", "reserved" / Hex(12) * "Reserved",
    "fault_record" / Hex(16) * "Fault Record", "root_entry" / Hex(16) * "Root Entry",
    "context_entry" / Hex(16) * "Context Entry", *_ptes(),
)

# UEFI 2.10 N.2.11.3 IOMMU specific DMAr Error Section (144 bytes)
DmarIommu = _titled("IOMMU DMAr error section", "UEFI 2.10 N.2.11.3",
    "revision" / Int8ul * "Revision", "reserved" / Hex(7) * "Reserved", "control" / Int64ul * "Control",
    "status" / Int64ul * "Status", "reserved2" / Hex(8) * "Reserved",
    "event_log_entry" / Hex(16) * "Event Log Entry", "reserved3" / Hex(16) * "Reserved",
    "device_table_entry" / Hex(32) * "Device Table Entry", *_ptes(),
)

# UEFI 2.10 N.2.12 CCIX PER Log Error Section (16 bytes + PER log; Length counts the whole section)
CCIX_PER_HEAD = 16
CcixPer = _titled("CCIX PER log error section", "UEFI 2.10 N.2.12",
    "length" / Int32ul * "Length",
    "validation_bits" / Int64ul * "Validation Bits",
    "ccix_source_id" / Valid(0, Int8ul) * "CCIX Source ID",
    "ccix_port_id" / Valid(1, Int8ul) * "CCIX Port ID",
    "reserved" / Int16ul * "Reserved",
    "per_log" / Hex(this.length - CCIX_PER_HEAD) * "CCIX PER Log",
)

# UEFI 2.10 N.2.13 CXL Protocol Error Section (116 bytes + DVSEC + error log)
CxlProtocol = _titled("CXL protocol error section", "UEFI 2.10 N.2.13",
    "validation_bits" / Int64ul * "Validation Bits",
    "agent_type" / Valid(0, Int8ul) * "CXL Agent Type",
    "reserved" / Hex(7) * "Reserved",
    "agent_address" / Valid(1, Int64ul) * "CXL Agent Address",
    "device_id" / Valid(2, _titled("device id", "",
        "vendor_id" / Int16ul * "Vendor ID", "device_id" / Int16ul * "Device ID",
        "subsystem_vendor_id" / Int16ul * "Subsystem Vendor ID", "subsystem_id" / Int16ul * "Subsystem ID",
        "class_code" / Int16ul * "Class Code", "slot" / Int16ul * "Slot Number",
        "reserved" / Int32ul * "Reserved")) * "Device ID",
    "serial_number" / Valid(3, Int64ul) * "Device Serial Number",
    "capability" / Valid(4, Hex(60)) * "Capability Structure",
    "dvsec_length" / Int16ul * "CXL DVSEC Length",
    "error_log_length" / Int16ul * "CXL Error Log Length",
    "reserved2" / Int32ul * "Reserved",
    "dvsec" / Hex(this.dvsec_length) * "CXL DVSEC",
    "error_log" / Hex(this.error_log_length) * "CXL Error Log",
)

# UEFI 2.10 N.2.14 CXL Component Events Section (32-byte header + CXL event record)
CXL_COMPONENT_HEAD = 32
CxlComponent = _titled("CXL component events section", "UEFI 2.10 N.2.14",
    "length" / Int32ul * "Length",
    "validation_bits" / Int64ul * "Validation Bits",
    "device_id" / Valid(0, _titled("device id", "",
        "vendor_id" / Int16ul * "Vendor ID", "device_id" / Int16ul * "Device ID",
        "function" / Int8ul * "Function Number", "device" / Int8ul * "Device Number",
        "bus" / Int8ul * "Bus Number", "segment" / Int16ul * "Segment Number",
        "slot" / Int16ul * "Slot Number", "reserved" / Int8ul * "Reserved")) * "Device ID",
    "serial_number" / Valid(1, Int64ul) * "Device Serial Number",
    "event_log" / Hex(this.length - CXL_COMPONENT_HEAD) * "CXL Component Event Log",
)

# FRU Memory Poison section (UEFI 2.10 N.2.15 / AMD FMPM): header + poison descriptors
FruPoisonDescriptor = _titled("memory poison descriptor", "UEFI 2.10 N.2.15",
    "timestamp" / Int64ul * "Timestamp", "hardware_id_type" / Int32ul * "Hardware ID Type",
    "hardware_id" / Int64ul * "Hardware ID", "address_type" / Int32ul * "Address Type",
    "address" / Int64ul * "Address",
)
FruMemoryPoison = _titled("FRU memory poison section", "UEFI 2.10 N.2.15",
    "checksum" / Int32ul * "Checksum",
    "validation_bits" / Int64ul * "Validation Bits",
    "fru_architecture_type" / Valid(0, Int32ul) * "FRU Architecture Type",
    "fru_architecture" / Valid(0, Int64ul) * "FRU Architecture",
    "fru_id_type" / Valid(1, Int32ul) * "FRU ID Type",
    "fru_id" / Valid(1, Int64ul) * "FRU ID",
    "entry_count" / Valid(2, Int32ul) * "Poison Entry Count",
    "entries" / Array(this.entry_count, FruPoisonDescriptor) * "Poison Descriptors",
)

# Ampere vendor section (8 bytes)
Ampere = _titled("Ampere error section", "Ampere (libcper)",
    "type_id" / Int16ul * "Type ID", "subtype_id" / Int16ul * "Subtype ID",
    "instance_id" / Int32ul * "Instance ID",
)

# NVIDIA Grace vendor section: 32-byte header + register (address, value) pairs
Nvidia = _titled("NVIDIA error section", "NVIDIA (libcper)",
    "signature" / Text(16) * "Signature",
    "error_type" / Int16ul * "Error Type",
    "error_instance" / Int16ul * "Error Instance",
    "severity" / Int8ul * "Severity",
    "socket" / Int8ul * "Socket",
    "number_regs" / Int8ul * "Number of Registers",
    "reserved" / Int8ul * "Reserved",
    "instance_base" / Int64ul * "Instance Base",
    "registers" / Array(this.number_regs, RegisterPair) * "Registers",
)

# Arm RAS error node section (Arm DEN0085, tables 20-21): an 80-byte node header, then the error
# syndrome descriptors (72 bytes each) and the auxiliary data (kept as bytes: contexts and
# key/value pairs that only the libcper renderer walks)
ArmRasSyndrome = _titled("Arm RAS error record descriptor", "Arm DEN0085 table 21",
    "error_record_index" / Int32ul * "Error Record Index",
    "ras_extension_revision" / Int8ul * "RAS Extension Revision",
    "reserved" / Int24ul * "Reserved",
    "err_fr" / Int64ul * "ERR<n>FR", "err_ctlr" / Int64ul * "ERR<n>CTLR", "err_status" / Int64ul * "ERR<n>STATUS",
    "err_addr" / Int64ul * "ERR<n>ADDR", "err_misc0" / Int64ul * "ERR<n>MISC0",
    "err_misc1" / Int64ul * "ERR<n>MISC1", "err_misc2" / Int64ul * "ERR<n>MISC2",
    "err_misc3" / Int64ul * "ERR<n>MISC3",
)
ArmRasNode = _titled("Arm RAS error node", "Arm DEN0085 table 20",
    "revision" / Int32ul * "Revision",
    "component_type" / Int8ul * "Component Type",
    "reserved0" / Int24ul * "Reserved",
    "error_syndrome_count" / Int32ul * "Error Syndrome Array Num Entries",
    "error_syndrome_offset" / Int16ul * "Error Syndrome Offset",
    "aux_data_offset" / Int16ul * "Auxiliary Data Offset",
    "ip_instance_format" / Int8ul * "IP Instance Format",
    "ip_type_format" / Int8ul * "IP Type Format",
    "reserved1" / Hex(6) * "Reserved",
    "ip_instance" / Hex(16) * "IP Instance",
    "ip_type" / Hex(24) * "IP Type",
    "user_data" / Text(16) * "User Data",
    "error_syndromes" / Array(this.error_syndrome_count, ArmRasSyndrome) * "Error Syndromes",
    "aux_data" / Hex() * "Auxiliary Data",
)

# NVIDIA event section (libcper's nvidia-events, GUID 9068e568-...): a 32-byte event header, the
# event information (3-byte version/size header, then device-specific bytes) and the event contexts
# (a 16-byte header each, its size counting the header, then the context data)
NVIDIA_EVENT_INFO_HEADER = 3
NVIDIA_EVENT_CONTEXT_HEADER = 16
NvidiaEventContext = _titled("NVIDIA event context", "libcper nvidia-events",
    "context_size" / Int32ul * "Context Size",
    "version" / Int16ul * "Version",
    "reserved" / Int16ul * "Reserved",
    "data_format_type" / Int16ul * "Data Format Type",
    "data_format_version" / Int16ul * "Data Format Version",
    "data_size" / Int32ul * "Data Size",
    "data" / Hex(this.context_size - NVIDIA_EVENT_CONTEXT_HEADER) * "Data",
)
NvidiaEvent = _titled("NVIDIA event header", "libcper nvidia-events",
    "version" / Int8ul * "Version",
    "context_count" / Int8ul * "Context Count",
    "source_device_type" / Int8ul * "Source Device Type",
    "reserved" / Int8ul * "Reserved",
    "event_type" / Int16ul * "Event Type",
    "event_subtype" / Int16ul * "Event Subtype",
    "link_id" / Int64ul * "Link ID",
    "signature" / Text(16) * "Signature",
    "info_version_minor" / Int8ul * "Event Info Minor Version",
    "info_version_major" / Int8ul * "Event Info Major Version",
    "info_size" / Int8ul * "Event Info Size",
    "info" / Hex(this.info_size - NVIDIA_EVENT_INFO_HEADER) * "Event Info",
    "contexts" / Array(this.context_count, NvidiaEventContext) * "Event Contexts",
)

# section key (apeitool/guids.py) -> construct schema of its body
SECTION_SCHEMAS = {
    "processor_generic": ProcessorGeneric,
    "ia32x64": Ia32x64,
    "arm": Arm,
    "platform_memory": PlatformMemory,
    "platform_memory2": PlatformMemory2,
    "pcie": Pcie,
    "pci_bus": PciBus,
    "pci_component": PciComponent,
    "firmware_error_record": FirmwareErrorRecord,
    "dmar_generic": DmarGeneric,
    "dmar_vtd": DmarVtd,
    "dmar_iommu": DmarIommu,
    "ccix_per": CcixPer,
    "cxl_protocol": CxlProtocol,
    **{k: CxlComponent for k in ("cxl_general_media", "cxl_dram", "cxl_memory_module", "cxl_physical_switch",
                                 "cxl_virtual_switch", "cxl_mld_port")},
    "fru_memory_poison": FruMemoryPoison,
    "arm_ras": ArmRasNode,
    "ampere": Ampere,
    "nvidia_event": NvidiaEvent,
    "nvidia": Nvidia,
}
# shorter sections that still decode (zero-padded, marked truncated): UEFI 2.1/2.2's 73-byte
# memory error section, the 16-byte firmware error record reference of revision 1
MIN_LENGTHS = {"platform_memory": 73, "firmware_error_record": 16}



class _Bodies(Mapping):
    """section key -> Body, each generated from its schema the first time it is asked for (a
    command decoding memory errors does not pay for the other 24 section types)."""

    def __init__(self):
        self._done: Dict[str, Body] = {}

    def __getitem__(self, key):
        body = self._done.get(key)
        if body is None:
            schema = SECTION_SCHEMAS[key]          # KeyError for an unknown key, as a dict
            body = self._done[key] = section_body(key, schema, MIN_LENGTHS.get(key))
        return body

    def __iter__(self):
        return iter(SECTION_SCHEMAS)

    def __len__(self):
        return len(SECTION_SCHEMAS)


BODIES = _Bodies()

# the compiled fixed parts some renderers read fields of
_COMPILED_PARTS = {
    "PLATFORM_MEMORY": lambda: BODIES["platform_memory"].layout,
    "ARM": lambda: BODIES["arm"].layout,
    "ARM_ERROR_INFO": lambda: compiled(ArmErrorInfo),
    "ARM_CONTEXT": lambda: BODIES["arm"].parts[1].layout,
}


def __getattr__(name):
    make = _COMPILED_PARTS.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return make()


# names of enumerated section fields (shared by the text, kernel and libcper renderers)
PROC_TYPES = {0: "IA32/X64", 1: "IA64", 2: "ARM"}
PROC_ISAS = {0: "IA32", 1: "IA64", 2: "X64", 3: "ARM A32/T32", 4: "ARM A64"}
MEMORY_ERROR_TYPES = {
    0: "unknown", 1: "no error", 2: "single-bit ECC", 3: "multi-bit ECC",
    4: "single-symbol chipkill ECC", 5: "multi-symbol chipkill ECC", 6: "master abort",
    7: "target abort", 8: "parity error", 9: "watchdog timeout", 10: "invalid address",
    11: "mirror Broken", 12: "memory sparing", 13: "scrub corrected error",
    14: "scrub uncorrected error", 15: "physical memory map-out event"}
PCIE_PORT_TYPES = {
    0: "PCIe end point", 1: "legacy PCI end point", 4: "root port", 5: "upstream switch port",
    6: "downstream switch port", 7: "PCIe to PCI/PCI-X bridge", 8: "PCI/PCI-X to PCIe bridge",
    9: "root complex integrated endpoint device", 10: "root complex event collector"}
ARM_CONTEXT_TYPES = {
    0: "AArch32 general purpose registers", 1: "AArch32 EL1 context registers",
    2: "AArch32 EL2 context registers", 3: "AArch32 secure context registers",
    4: "AArch64 general purpose registers", 5: "AArch64 EL1 context registers",
    6: "AArch64 EL2 context registers", 7: "AArch64 EL3 context registers",
    8: "Misc. system register structure"}
IA32_CONTEXT_TYPES = {
    0: "Unclassified Data", 1: "MSR Registers (Machine Check and other MSRs)",
    2: "32-bit Mode Execution Context", 3: "64-bit Mode Execution Context", 4: "FXSAVE Context",
    5: "32-bit Mode Debug Registers (DR0-DR7)", 6: "64-bit Mode Debug Registers (DR0-DR7)",
    7: "Memory Mapped Registers"}
FIRMWARE_RECORD_TYPES = {0: "IPF SAL Error Record",
                         1: "SOC Firmware Error Record Type1 (Legacy CrashLog Support)",
                         2: "SOC Firmware Error Record Type2"}
