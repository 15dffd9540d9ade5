"""CPER section bodies (UEFI 2.10 Appendix N, CXL/CCIX sections, vendor sections libcper knows).

Each entry of BODIES names a section key (apeitool/guids.py) and how its bytes are laid out: a fixed
Layout, plus for variable sections the list parts that follow it, whose counts or lengths come from
fields of the fixed part. Field tuples are (name, type, validation bit).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional

from .layout import GUID, U8, U16, U24, U32, U64, Bits, Hex, Layout, Text

# UEFI 2.10 N.2.5 Error Status (shared by memory, PCI bus and PCI component sections)
ERROR_STATUS = Bits(U64, [("reserved_low", 0, 8), ("error_type", 8, 8), ("address", 16, 1),
                          ("control", 17, 1), ("data", 18, 1), ("responder", 19, 1),
                          ("requester", 20, 1), ("first_error", 21, 1), ("overflow", 22, 1)])

# UEFI 2.10 N.2.4.1 Processor Generic Error Section (192 bytes)
PROCESSOR_GENERIC = Layout("processor generic error section", "UEFI 2.10 N.2.4.1", [
    ("validation_bits", U64),
    ("processor_type", U8, 0),
    ("processor_isa", U8, 1),
    ("error_type", U8, 2),
    ("operation", U8, 3),
    ("flags", U8, 4),
    ("level", U8, 5),
    ("reserved", U16),
    ("cpu_version", U64, 6),
    ("cpu_brand", Text(128), 7),
    ("processor_id", U64, 8),
    ("target_address", U64, 9),
    ("requestor_id", U64, 10),
    ("responder_id", U64, 11),
    ("instruction_ip", U64, 12),
], valid_field="validation_bits")

# UEFI 2.10 N.2.4.2 IA32/X64 Processor Error Section: header, error info, context structures
IA32X64 = Layout("IA32/X64 processor error section", "UEFI 2.10 N.2.4.2", [
    ("validation_bits", Bits(U64, [("lapic_id", 0, 1), ("cpuid", 1, 1),
                                   ("error_info_count", 2, 6), ("context_count", 8, 6)])),
    ("lapic_id", U64),
    ("cpuid", Hex(48)),
])
IA32X64_ERROR_INFO = Layout("IA32/X64 error information structure", "UEFI 2.10 N.2.4.2.1", [
    ("error_type", GUID),
    ("validation_bits", U64),
    ("check_info", U64, 0),
    ("target_id", U64, 1),
    ("requestor_id", U64, 2),
    ("responder_id", U64, 3),
    ("instruction_ip", U64, 4),
], valid_field="validation_bits")
IA32X64_CONTEXT = Layout("IA32/X64 processor context structure", "UEFI 2.10 N.2.4.2.2", [
    ("register_type", U16),
    ("array_size", U16),
    ("msr_address", U32),
    ("mm_register_address", U64),
])

# UEFI 2.10 N.2.4.4 ARM Processor Error Section
ARM = Layout("ARM processor error section", "UEFI 2.10 N.2.4.4", [
    ("validation_bits", U32),
    ("error_info_num", U16),
    ("context_info_num", U16),
    ("section_length", U32),
    ("error_affinity_level", U8, 1),
    ("reserved", U24),
    ("mpidr", U64, 0),
    ("midr", U64),
    ("running_state", U32, 2),
    ("psci_state", U32, 2),
], valid_field="validation_bits")
ARM_ERROR_INFO = Layout("ARM processor error information structure", "UEFI 2.10 N.2.4.4.1", [
    ("version", U8),
    ("length", U8),
    ("validation_bits", U16),
    ("type", U8),
    ("multiple_error", U16, 0),
    ("flags", Bits(U8, [("first_error_captured", 0, 1), ("last_error_captured", 1, 1),
                        ("propagated", 2, 1), ("overflow", 3, 1)]), 1),
    ("error_info", U64, 2),
    ("virtual_fault_address", U64, 3),
    ("physical_fault_address", U64, 4),
], valid_field="validation_bits")
ARM_CONTEXT = Layout("ARM processor context information structure", "UEFI 2.10 N.2.4.4.2", [
    ("version", U16),
    ("register_context_type", U16),
    ("register_array_size", U32),
])

# UEFI 2.10 N.2.5 / N.2.6: the first 40 bytes of both memory error sections are the same
_MEMORY_HEAD = [
    ("validation_bits", U64),
    ("error_status", ERROR_STATUS, 0),
    ("physical_address", U64, 1),
    ("physical_address_mask", U64, 2),
    ("node", U16, 3),
    ("card", U16, 4),
    ("module", U16, 5),
    ("bank", U16, 6),
]

# UEFI 2.10 N.2.5 Memory Error Section (80 bytes; 73 in UEFI 2.1/2.2)
PLATFORM_MEMORY = Layout("memory error section", "UEFI 2.10 N.2.5", _MEMORY_HEAD + [
    ("device", U16, 7),
    ("row", U16, 8),
    ("column", U16, 9),
    ("bit_position", U16, 10),
    ("requestor_id", U64, 11),
    ("responder_id", U64, 12),
    ("target_id", U64, 13),
    ("memory_error_type", U8, 14),
    ("extended", U8, 18),
    ("rank_number", U16, 15),
    ("card_handle", U16, 16),
    ("module_handle", U16, 17),
], valid_field="validation_bits")

# UEFI 2.10 N.2.6 Memory Error Section 2 (96 bytes)
PLATFORM_MEMORY2 = Layout("memory error section 2", "UEFI 2.10 N.2.6", _MEMORY_HEAD + [
    ("device", U32, 7),
    ("row", U32, 8),
    ("column", U32, 9),
    ("rank", U32, 10),
    ("bit_position", U32, 11),
    ("chip_id", U8, 12),
    ("memory_error_type", U8, 13),
    ("status", U8, 14),
    ("reserved", U8),
    ("requestor_id", U64, 15),
    ("responder_id", U64, 16),
    ("target_id", U64, 17),
    ("card_handle", U32, 18),
    ("module_handle", U32, 19),
], valid_field="validation_bits")

# UEFI 2.10 N.2.7 PCI Express Error Section (208 bytes)
PCIE_DEVICE_ID = Layout("PCIe device id", "UEFI 2.10 N.2.7", [
    ("vendor_id", U16), ("device_id", U16), ("class_code", U24), ("function", U8), ("device", U8),
    ("segment", U16), ("primary_bus", U8), ("secondary_bus", U8), ("slot", U16), ("reserved", U8),
])
PCIE = Layout("PCI Express error section", "UEFI 2.10 N.2.7", [
    ("validation_bits", U64),
    ("port_type", U32, 0),
    ("version", Layout("version", "", [("minor", U8), ("major", U8), ("reserved", U16)]), 1),
    ("command", U16, 2),
    ("status", U16, 2),
    ("reserved", U32),
    ("device_id", PCIE_DEVICE_ID, 3),
    ("serial_number", U64, 4),
    ("bridge", Layout("bridge", "", [("secondary_status", U16), ("control", U16)]), 5),
    ("capability", Hex(60), 6),
    ("aer_info", Hex(96), 7),
], valid_field="validation_bits")

# UEFI 2.10 N.2.8 PCI/PCI-X Bus Error Section (72 bytes)
PCI_BUS = Layout("PCI/PCI-X bus error section", "UEFI 2.10 N.2.8", [
    ("validation_bits", U64),
    ("error_status", ERROR_STATUS, 0),
    ("error_type", U16, 1),
    ("bus_id", Bits(U16, [("bus", 0, 8), ("segment", 8, 8)]), 2),
    ("reserved", U32),
    ("bus_address", U64, 3),
    ("bus_data", U64, 4),
    ("bus_command", U64, 5),
    ("requestor_id", U64, 6),
    ("completer_id", U64, 7),
    ("target_id", U64, 8),
], valid_field="validation_bits")

# UEFI 2.10 N.2.9 PCI/PCI-X Component Error Section (40 bytes + register pairs)
PCI_COMPONENT = Layout("PCI component error section", "UEFI 2.10 N.2.9", [
    ("validation_bits", U64),
    ("error_status", ERROR_STATUS, 0),
    ("id_info", Layout("id info", "", [
        ("vendor_id", U16), ("device_id", U16), ("class_code", U24), ("function", U8),
        ("device", U8), ("bus", U8), ("segment", U8), ("reserved", Hex(5))]), 1),
    ("memory_number", U32, 2),
    ("io_number", U32, 3),
], valid_field="validation_bits")
REGISTER_PAIR = Layout("register pair", "", [("address", U64), ("value", U64)])

# UEFI 2.10 N.2.10 Firmware Error Record Reference (32 bytes)
FIRMWARE_ERROR_RECORD = Layout("firmware error record reference", "UEFI 2.10 N.2.10", [
    ("record_type", U8),
    ("revision", U8),
    ("reserved", Hex(6)),
    ("record_identifier", U64),
    ("record_identifier_guid", GUID),
])

# UEFI 2.10 N.2.11.1 DMAr Generic Error Section (32 bytes)
DMAR_GENERIC = Layout("DMAr generic error section", "UEFI 2.10 N.2.11.1", [
    ("requester_id", U16),
    ("segment_number", U16),
    ("fault_reason", U8),
    ("access_type", U8),
    ("address_type", U8),
    ("architecture_type", U8),
    ("device_address", U64),
    ("reserved", Hex(16)),
])

_PTES = [(f"pte_l{n}", U64) for n in (6, 5, 4, 3, 2, 1)]
# UEFI 2.10 N.2.11.2 Intel VT for Directed I/O specific DMAr Error Section (144 bytes)
DMAR_VTD = Layout("VT-d DMAr error section", "UEFI 2.10 N.2.11.2", [
    ("version", U8), ("revision", U8), ("oem_id", Hex(6)), ("capability", U64),
    ("extended_capability", U64), ("global_command", U32), ("global_status", U32),
    ("fault_status", U32), ("reserved", Hex(12)), ("fault_record", Hex(16)), ("root_entry", Hex(16)),
    ("context_entry", Hex(16)),
] + _PTES)

# UEFI 2.10 N.2.11.3 IOMMU specific DMAr Error Section (144 bytes)
DMAR_IOMMU = Layout("IOMMU DMAr error section", "UEFI 2.10 N.2.11.3", [
    ("revision", U8), ("reserved", Hex(7)), ("control", U64), ("status", U64), ("reserved2", Hex(8)),
    ("event_log_entry", Hex(16)), ("reserved3", Hex(16)), ("device_table_entry", Hex(32)),
] + _PTES)

# UEFI 2.10 N.2.12 CCIX PER Log Error Section (16 bytes + PER log)
CCIX_PER = Layout("CCIX PER log error section", "UEFI 2.10 N.2.12", [
    ("length", U32),
    ("validation_bits", U64),
    ("ccix_source_id", U8, 0),
    ("ccix_port_id", U8, 1),
    ("reserved", U16),
], valid_field="validation_bits")

# UEFI 2.10 N.2.13 CXL Protocol Error Section (116 bytes + DVSEC + error log)
CXL_PROTOCOL = Layout("CXL protocol error section", "UEFI 2.10 N.2.13", [
    ("validation_bits", U64),
    ("agent_type", U8, 0),
    ("reserved", Hex(7)),
    ("agent_address", U64, 1),
    ("device_id", Layout("device id", "", [
        ("vendor_id", U16), ("device_id", U16), ("subsystem_vendor_id", U16),
        ("subsystem_id", U16), ("class_code", U16), ("slot", U16), ("reserved", U32)]), 2),
    ("serial_number", U64, 3),
    ("capability", Hex(60), 4),
    ("dvsec_length", U16),
    ("error_log_length", U16),
    ("reserved2", U32),
])

# UEFI 2.10 N.2.14 CXL Component Events Section (32-byte header + CXL event record)
CXL_COMPONENT = Layout("CXL component events section", "UEFI 2.10 N.2.14", [
    ("length", U32),
    ("validation_bits", U64),
    ("device_id", Layout("device id", "", [
        ("vendor_id", U16), ("device_id", U16), ("function", U8), ("device", U8), ("bus", U8),
        ("segment", U16), ("slot", U16), ("reserved", U8)]), 0),
    ("serial_number", U64, 1),
], valid_field="validation_bits")

# FRU Memory Poison section (UEFI 2.10 N.2.15 / AMD FMPM): header + poison descriptors
FRU_MEMORY_POISON = Layout("FRU memory poison section", "UEFI 2.10 N.2.15", [
    ("checksum", U32),
    ("validation_bits", U64),
    ("fru_architecture_type", U32, 0),
    ("fru_architecture", U64, 0),
    ("fru_id_type", U32, 1),
    ("fru_id", U64, 1),
    ("entry_count", U32, 2),
], valid_field="validation_bits")
FRU_POISON_DESCRIPTOR = Layout("memory poison descriptor", "UEFI 2.10 N.2.15", [
    ("timestamp", U64), ("hardware_id_type", U32), ("hardware_id", U64), ("address_type", U32),
    ("address", U64),
])

# Ampere vendor section (8 bytes)
AMPERE = Layout("Ampere error section", "Ampere (libcper)", [
    ("type_id", U16), ("subtype_id", U16), ("instance_id", U32),
])

# NVIDIA Grace vendor section: 32-byte header + register (address, value) pairs
NVIDIA = Layout("NVIDIA error section", "NVIDIA (libcper)", [
    ("signature", Text(16)),
    ("error_type", U16),
    ("error_instance", U16),
    ("severity", U8),
    ("socket", U8),
    ("number_regs", U8),
    ("reserved", U8),
    ("instance_base", U64),
])

# Arm RAS error node section (Arm DEN0085, tables 20-21): an 80-byte node header, then the error
# syndrome descriptors (72 bytes each) and the auxiliary data (kept as bytes: contexts and
# key/value pairs that only the libcper renderer walks)
ARM_RAS_NODE = Layout("Arm RAS error node", "Arm DEN0085 table 20", [
    ("revision", U32),
    ("component_type", U8),
    ("reserved0", U24),
    ("error_syndrome_count", U32),
    ("error_syndrome_offset", U16),
    ("aux_data_offset", U16),
    ("ip_instance_format", U8),
    ("ip_type_format", U8),
    ("reserved1", Hex(6)),
    ("ip_instance", Hex(16)),
    ("ip_type", Hex(24)),
    ("user_data", Text(16)),
])
ARM_RAS_SYNDROME = Layout("Arm RAS error record descriptor", "Arm DEN0085 table 21", [
    ("error_record_index", U32),
    ("ras_extension_revision", U8),
    ("reserved", U24),
    ("err_fr", U64), ("err_ctlr", U64), ("err_status", U64), ("err_addr", U64),
    ("err_misc0", U64), ("err_misc1", U64), ("err_misc2", U64), ("err_misc3", U64),
])


# NVIDIA event section (libcper's nvidia-events, GUID 9068e568-...): a 32-byte event header, the
# event information (3-byte version/size header, then device-specific bytes) and the event contexts
# (a 16-byte header each, its size counting the header, then the context data)
NVIDIA_EVENT_INFO_HEADER = 3
NVIDIA_EVENT = Layout("NVIDIA event header", "libcper nvidia-events", [
    ("version", U8),
    ("context_count", U8),
    ("source_device_type", U8),
    ("reserved", U8),
    ("event_type", U16),
    ("event_subtype", U16),
    ("link_id", U64),
    ("signature", Text(16)),
    ("info_version_minor", U8),
    ("info_version_major", U8),
    ("info_size", U8),
])
NVIDIA_EVENT_CONTEXT = Layout("NVIDIA event context", "libcper nvidia-events", [
    ("context_size", U32),
    ("version", U16),
    ("reserved", U16),
    ("data_format_type", U16),
    ("data_format_version", U16),
    ("data_size", U32),
])


@dataclass
class Part:
    """A variable part after the fixed layout: `items` of `layout` (count from a field), or a byte
    blob whose length comes from a field (`length`) or fills the rest (`rest`)."""
    name: str
    layout: Optional[Layout] = None
    count: Optional[Callable[[dict], int]] = None
    length: Optional[Callable[[dict], int]] = None
    count_field: Optional[str] = None
    length_field: Optional[str] = None
    blob_after: Optional[str] = None       # each item carries a blob of this many bytes
    blob_len: Optional[Callable[[dict], int]] = None
    blob_size_field: Optional[str] = None
    rest: bool = False                     # a blob that takes every byte left
    length_adjust: int = 0                 # the length field counts this many bytes besides the blob
    blob_adjust: int = 0                   # each item's size field counts this many bytes besides its blob


@dataclass
class Body:
    key: str
    layout: Layout
    parts: List[Part] = field(default_factory=list)
    min_length: Optional[int] = None      # shorter sections decode zero-padded, marked truncated


def _bits(obj, name):
    v = obj.get(name, 0)
    return v if isinstance(v, int) else 0


BODIES = {b.key: b for b in [
    Body("processor_generic", PROCESSOR_GENERIC),
    Body("ia32x64", IA32X64, [
        Part("error_info", IA32X64_ERROR_INFO, count=lambda h: h["validation_bits"]["error_info_count"],
             count_field="validation_bits.error_info_count"),
        Part("context", IA32X64_CONTEXT, count=lambda h: h["validation_bits"]["context_count"],
             count_field="validation_bits.context_count", blob_after="register_array",
             blob_len=lambda c: c["array_size"], blob_size_field="array_size"),
    ]),
    Body("arm", ARM, [
        Part("error_info", ARM_ERROR_INFO, count=lambda h: h["error_info_num"],
             count_field="error_info_num"),
        Part("context", ARM_CONTEXT, count=lambda h: h["context_info_num"],
             count_field="context_info_num", blob_after="register_array",
             blob_len=lambda c: c["register_array_size"], blob_size_field="register_array_size"),
    ]),
    Body("platform_memory", PLATFORM_MEMORY, min_length=73),
    Body("platform_memory2", PLATFORM_MEMORY2),
    Body("pcie", PCIE),
    Body("pci_bus", PCI_BUS),
    Body("pci_component", PCI_COMPONENT, [
        Part("registers", REGISTER_PAIR, count=lambda h: h["memory_number"] + h["io_number"]),
    ]),
    Body("firmware_error_record", FIRMWARE_ERROR_RECORD, min_length=16),
    Body("dmar_generic", DMAR_GENERIC),
    Body("dmar_vtd", DMAR_VTD),
    Body("dmar_iommu", DMAR_IOMMU),
    Body("ccix_per", CCIX_PER, [
        Part("per_log", length=lambda h: h["length"] - CCIX_PER.size, length_field="length",
             length_adjust=CCIX_PER.size),
    ]),
    Body("cxl_protocol", CXL_PROTOCOL, [
        Part("dvsec", length=lambda h: h["dvsec_length"], length_field="dvsec_length"),
        Part("error_log", length=lambda h: h["error_log_length"], length_field="error_log_length"),
    ]),
    *[Body(k, CXL_COMPONENT, [
        Part("event_log", length=lambda h: h["length"] - CXL_COMPONENT.size, length_field="length",
             length_adjust=CXL_COMPONENT.size),
    ]) for k in ("cxl_general_media", "cxl_dram", "cxl_memory_module", "cxl_physical_switch",
                 "cxl_virtual_switch", "cxl_mld_port")],
    Body("fru_memory_poison", FRU_MEMORY_POISON, [
        Part("entries", FRU_POISON_DESCRIPTOR, count=lambda h: h["entry_count"],
             count_field="entry_count"),
    ]),
    Body("arm_ras", ARM_RAS_NODE, [
        Part("error_syndromes", ARM_RAS_SYNDROME, count=lambda h: h["error_syndrome_count"],
             count_field="error_syndrome_count"),
        Part("aux_data", rest=True),
    ]),
    Body("ampere", AMPERE),
    Body("nvidia_event", NVIDIA_EVENT, [
        Part("info", length=lambda h: h["info_size"] - NVIDIA_EVENT_INFO_HEADER, length_field="info_size",
             length_adjust=NVIDIA_EVENT_INFO_HEADER),
        Part("contexts", NVIDIA_EVENT_CONTEXT, count=lambda h: h["context_count"], count_field="context_count",
             blob_after="data", blob_len=lambda c: c["context_size"] - NVIDIA_EVENT_CONTEXT.size,
             blob_size_field="context_size", blob_adjust=NVIDIA_EVENT_CONTEXT.size),
    ]),
    Body("nvidia", NVIDIA, [
        Part("registers", REGISTER_PAIR, count=lambda h: h["number_regs"], count_field="number_regs"),
    ]),
]}

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
