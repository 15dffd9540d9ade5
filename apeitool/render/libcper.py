"""CPER-JSON as openbmc/libcper's `cper-convert to-json` writes it (its field names, its name tables,
fields left out when their validation bit is clear), so OpenBMC/Redfish tooling can read our output.

Where libcper contradicts the UEFI spec we follow the spec; each such place is marked SPEC and listed
in the README. The "message" strings libcper marks unstable are produced but not compared in tests.
"""
from __future__ import annotations

import base64
import struct

from ..guids import NOTIFICATION_KEY_BY_GUID, NOTIFICATION_TYPES, SECTION_TYPES
from ..cper.body import build_body, section_key
from ..schemas.cper import RECORD_HEADER, SECTION_DESCRIPTOR, SEVERITIES, timestamp_fields
from ..schemas.cper_fields import guid_str
from ..schemas.values import parse_int
from . import libcper_pcie

# libcper's readable names for section types (its section_definitions table)
SECTION_NAMES = {
    "processor_generic": ("GenericProcessor", "Processor Generic"),
    "ia32x64": ("Ia32x64Processor", "IA32/X64"),
    "ipf": (None, "IPF"),
    "arm": ("ArmProcessor", "ARM"),
    "platform_memory": ("Memory", "Platform Memory"),
    "platform_memory2": ("Memory2", "Platform Memory 2"),
    "pcie": ("Pcie", "PCIe"),
    "firmware_error_record": ("Firmware", "Firmware Error Record Reference"),
    "pci_bus": ("PciBus", "PCI/PCI-X Bus"),
    "pci_component": ("PciComponent", "PCI Component/Device"),
    "dmar_generic": ("GenericDmar", "DMAr Generic"),
    "dmar_vtd": ("VtdDmar", "Intel VT for Directed I/O Specific DMAr"),
    "dmar_iommu": ("IommuDmar", "IOMMU Specific DMAr"),
    "ccix_per": ("CcixPer", "CCIX PER Log Error"),
    "cxl_protocol": ("CxlProtocol", "CXL Protocol Error"),
    "cxl_general_media": ("CxlComponent", "CXL General Media Component Error"),
    "cxl_dram": ("CxlComponent", "CXL DRAM Component Error"),
    "cxl_memory_module": ("CxlComponent", "CXL Memory Module Component Error"),
    "cxl_physical_switch": ("CxlComponent", "CXL Physical Switch Component Error"),
    "cxl_virtual_switch": ("CxlComponent", "CXL Virtual Switch Component Error"),
    "cxl_mld_port": ("CxlComponent", "CXL MLD Port Component Error"),
    "arm_ras": ("ArmRas", "ARM RAS"),
    "ampere": ("Ampere", "Ampere"),
    "nvidia": ("Nvidia", "NVIDIA"),
    "nvidia_event": ("NvidiaEvent", "NvidiaEvent"),
}
SEVERITY_NAMES = {0: "Recoverable", 1: "Fatal", 2: "Corrected", 3: "Informational"}
HEADER_FLAGS = {1: "HW_ERROR_FLAGS_RECOVERED", 2: "HW_ERROR_FLAGS_PREVERR", 4: "HW_ERROR_FLAGS_SIMULATED"}
DESCRIPTOR_FLAGS = ["primary", "containmentWarning", "reset", "errorThresholdExceeded",
                    "resourceNotAccessible", "latentError", "propagated", "overflow"]
_SEV_INT = {v: k for k, v in SEVERITIES.items()}

ERROR_STATUS_TYPES = {
    1: ("ERR_INTERNAL", "Error detected internal to the component."),
    16: ("ERR_BUS", "Error detected in the bus."),
    4: ("ERR_MEM", "Storage error in memory (DRAM)."),
    5: ("ERR_TLB", "Storage error in TLB."),
    6: ("ERR_CACHE", "Storage error in cache."),
    7: ("ERR_FUNCTION", "Error in one or more functional units."),
    8: ("ERR_SELFTEST", "Component failed self test."),
    9: ("ERR_FLOW", "Overflow or underflow of internal queue."),
    17: ("ERR_MAP", "Virtual address not found on IO-TLB or IO-PDIR."),
    18: ("ERR_IMPROPER", "Improper access error."),
    19: ("ERR_UNIMPL", "Access to a memory address which is not mapped to any component."),
    20: ("ERR_LOL", "Loss of Lockstep error."),
    21: ("ERR_RESPONSE", "Response not associated with a request."),
    22: ("ERR_PARITY", "Bus parity error (must also set the A, C, or D bits)."),
    23: ("ERR_PROTOCOL", "Detection of a protocol error."),
    24: ("ERR_ERROR", "Detection of a PATH_ERROR."),
    25: ("ERR_TIMEOUT", "Bus operation timeout."),
    26: ("ERR_POISONED", "A read was issued to data that has been poisoned."),
}
MEMORY_ERROR_TYPES = ["Unknown", "No Error", "Single-bit ECC", "Multi-bit ECC",
                      "Single-symbol ChipKill ECC", "Multi-symbol ChipKill ECC", "Master Abort",
                      "Target Abort", "Parity Error", "Watchdog Timeout", "Invalid Address",
                      "Mirror Broken", "Memory Sparing", "Scrub Corrected Error",
                      "Scrub Uncorrected Error", "Physical Memory Map-out Event"]
PROC_TYPES = {0: "IA32/X64", 1: "IA64", 2: "ARM"}
PROC_ISAS = {0: "IA32", 1: "IA64", 2: "X64", 3: "ARM A32/T32", 4: "ARM A64"}
PROC_ERROR_TYPES = {0: "Unknown", 1: "Cache Error", 2: "TLB Error", 4: "Bus Error",
                    8: "Micro-Architectural Error"}
PROC_OPERATIONS = {0: "Unknown or Generic", 1: "Data Read", 2: "Data Write", 3: "Instruction Execution"}
FIRMWARE_TYPES = {0: "IPF SAL Error Record", 1: "SOC Firmware Error Record (Type1 Legacy)",
                  2: "SOC Firmware Error Record (Type2)"}
PCI_BUS_ERROR_TYPES = {0: "Unknown/OEM Specific Error", 1: "Data Parity Error", 2: "System Error",
                       3: "Master Abort", 4: "Bus Timeout/No Device Present (No DEVSEL#)",
                       5: "Master Data Parity Error", 6: "Address Parity Error",
                       7: "Command Parity Error"}
DMAR_FAULT_REASONS = {
    1: ("DMT Entry Missing", "Domain mapping table entry is not present."),
    2: ("DMT Entry Invalid", "Invalid domain mapping table entry."),
    3: ("DMT Access Error", "DMAr unit's attempt to access the domain mapping table resulted in an error."),
    4: ("DMT Reserved Bit Invalid", "Reserved bit set to non-zero value in the domain mapping table."),
    5: ("DMA Address Out of Bounds", "DMA request to access an address beyond the device address width."),
    6: ("Invalid Read/Write", "Invalid read or write access."),
    7: ("Invalid Device Request", "Invalid device request."),
    8: ("ATT Access Error",
        "DMAr unit's attempt to access the address translation table resulted in an error."),
    9: ("ATT Reserved Bit Invalid", "Reserved bit set to non-zero value in the address translation table."),
    10: ("Illegal Command", "Illegal command error."),
    11: ("Command Buffer Access Error",
         "DMAr unit's attempt to access the command buffer resulted in an error."),
}
RESERVED = "Unknown (Reserved)"


def b64(hexstr: str) -> str:
    return base64.b64encode(bytes.fromhex(hexstr)).decode()


def put_b64(out: dict, key: str, data, wrap: bool = False) -> None:
    """out[key] = base64 of `data` (hex text or bytes), or {"data": ...} with `wrap`. libcper's
    base64_encode returns NULL for zero bytes and the field is left out: never an empty blob."""
    raw = bytes.fromhex(data) if isinstance(data, str) else bytes(data)
    if raw:
        text = base64.b64encode(raw).decode()
        out[key] = {"data": text} if wrap else text


def pair(value: int, names, default=RESERVED, key="name") -> dict:
    names = names if isinstance(names, dict) else dict(enumerate(names))
    return {"value": value, key: names.get(value, default)}


def _sev(value) -> dict:
    v = _SEV_INT.get(value, value) if isinstance(value, str) else value
    return {"code": v, "name": SEVERITY_NAMES.get(v, "Unknown")}


def _revision(v: int) -> dict:
    return {"major": v >> 8, "minor": v & 0xFF}


def _timestamp(value):
    """libcper's ISO string, or None where libcper would leave it out."""
    if isinstance(value, str) and len(value) >= 19:
        # the model's text comes from valid BCD only (flag byte 0 or 1): its digits are the fields
        month, day, hours, minutes, seconds = (int(value[k:k + 2]) for k in (5, 8, 11, 14, 17))
        if month > 12 or day > 31 or hours > 24 or minutes > 60 or seconds >= 60:
            return None
        return value[:19] + "+00:00", value.endswith(" precise")
    f = timestamp_fields(value)
    century, year = f["century"] % 100, f["year"] % 100
    month, day, hours, minutes, seconds = f["month"], f["day"], f["hours"], f["minutes"], f["seconds"]
    if month > 12 or day > 31 or hours > 24 or minutes > 60 or seconds >= 60:
        return None
    return (f"{century:02d}{year:02d}-{month:02d}-{day:02d}T{hours:02d}:{minutes:02d}:{seconds:02d}+00:00",
            bool(f["raw"][3]))  # libcper: the whole flag byte, not bit 0


def _untrusted(text: str):
    """libcper drops strings with non-printable characters (before the first NUL)."""
    text = text.split("\0", 1)[0]
    return text if text.isascii() and text.isprintable() else None     # 0x20..0x7E only


def header(h: dict) -> dict:
    vb = h["validation_bits"]
    out = {"revision": _revision(h["revision"]), "sectionCount": h["section_count"],
           "severity": _sev(h["error_severity"]), "recordLength": h["record_length"]}
    if vb["timestamp"]:
        ts = _timestamp(h["timestamp"])
        if ts:
            out["timestamp"], out["timestampIsPrecise"] = ts
    if vb["platform_id"]:
        out["platformID"] = h["platform_id"]
    if vb["partition_id"]:
        out["partitionID"] = h["partition_id"]
    out["creatorID"] = h["creator_id"]
    key = NOTIFICATION_KEY_BY_GUID.get(h["notification_type"])
    out["notificationType"] = {"guid": h["notification_type"],
                               "type": NOTIFICATION_TYPES[key][1] if key else "Unknown"}
    out["recordID"] = h["record_id"]
    flags = RECORD_HEADER.field_int("flags", h["flags"])
    out["flags"] = {"value": flags, "name": HEADER_FLAGS.get(flags, "Unknown")}
    out["persistenceInfo"] = h["persistence_information"]
    return out


_FLAG_DICTS: dict = {}


def _descriptor_flags(flags: int) -> dict:
    """libcper's flag booleans of a descriptor's Flags (a few distinct values recur: cached)."""
    known = _FLAG_DICTS.get(flags)
    if known is None:
        known = {n: bool(flags >> i & 1) for i, n in enumerate(DESCRIPTOR_FLAGS)}
        if len(_FLAG_DICTS) < 1024:
            _FLAG_DICTS[flags] = known
    return dict(known)


def descriptor(d: dict) -> dict:
    key = section_key(d["section_type"])
    guid = SECTION_TYPES[key][0] if key else d["section_type"]
    flags = SECTION_DESCRIPTOR.field_int("flags", d["flags"])
    out = {"sectionOffset": d["section_offset"], "sectionLength": d["section_length"],
           "revision": _revision(d["revision"]),
           "flags": _descriptor_flags(flags),
           "sectionType": {"data": guid,
                           "type": SECTION_NAMES[key][1] if key in SECTION_NAMES else "Unknown"}}
    if d["validation_bits"]["fru_id"]:
        out["fruID"] = d["fru_id"]
    if d["validation_bits"]["fru_text"]:
        text = _untrusted(d["fru_text"])
        if text is not None:
            out["fruText"] = text
    out["severity"] = _sev(d["section_severity"])
    return out


def section(sec: dict) -> dict:
    """One sections[] item: {"message"?, "<Key>": {...}} or {"Unknown": {"data": base64}}."""
    d = sec["descriptor"]
    key = section_key(d["section_type"])
    body = sec.get("body")
    if body is None:
        return None   # zero bytes: libcper's base64 of them fails and the section is null
    if key in RAW_RENDERERS:
        message, render = RAW_RENDERERS[key]
        raw = build_body(d["section_type"], body)
        ir = render(raw)
        if ir is not None:
            return {"message": message, SECTION_NAMES[key][0]: ir}
        return _unknown(raw)
    fn = SECTION_RENDERERS.get(key)
    if fn is not None and "data" not in body:
        result = fn(body)
        if result is not None:
            json_key = SECTION_NAMES[key][0]
            message, ir = result
            out = {"message": message} if message else {}
            out[json_key] = ir
            return out
    raw = build_body(d["section_type"], body)
    return _unknown(raw)


def _unknown(raw: bytes):
    """{"Unknown": {"data": base64}}; an empty section is null (libcper cannot encode it)."""
    return {"Unknown": {"data": base64.b64encode(raw).decode()}} if raw else None


def record(rec: dict) -> dict:
    return {"header": header(rec["header"]),
            "sectionDescriptors": [descriptor(s["descriptor"]) for s in rec["sections"]],
            "sections": [section(s) for s in rec["sections"]]}


def section_form(sec: dict) -> dict:
    return {"sectionDescriptor": descriptor(sec["descriptor"]), "section": section(sec)}


def document(doc: dict):
    """libcper JSON for a decoded document: one object per record/section (a list if several)."""
    if doc["form"] == "record":
        items = [record(r) for r in doc["records"]]
    elif doc["form"] == "section":
        items = [section_form(s) for s in doc["sections"]]
    else:
        raise ValueError("libcper has no error status block format: decode with --format json, or "
                         "convert the entries with --as section")
    return items[0] if len(items) == 1 else items


# -- section bodies ---------------------------------------------------------------------------

def _valid(body, bit, field="validation_bits") -> bool:
    v = body.get(field, 0)
    return bool((v if type(v) is int else parse_int(v)) >> bit & 1)


def error_status(es: dict) -> dict:
    t = es["error_type"]
    et = {"value": t}
    if t in ERROR_STATUS_TYPES:
        et["description"] = ERROR_STATUS_TYPES[t][1]
    et["name"] = ERROR_STATUS_TYPES[t][0] if t in ERROR_STATUS_TYPES else RESERVED
    return {"errorType": et, "addressSignal": es["address"], "controlSignal": es["control"],
            "dataSignal": es["data"], "detectedByResponder": es["responder"],
            "detectedByRequester": es["requester"], "firstError": es["first_error"],
            "overflowDroppedLogs": es["overflow"]}


def _generic(b):
    out = {}
    if _valid(b, 0):
        out["processorType"] = pair(b["processor_type"], PROC_TYPES)
    if _valid(b, 1):
        out["processorISA"] = pair(b["processor_isa"], PROC_ISAS)
    if _valid(b, 2):
        out["errorType"] = pair(b["error_type"], PROC_ERROR_TYPES)
    if _valid(b, 3):
        out["operation"] = pair(b["operation"], PROC_OPERATIONS)
    if _valid(b, 4):
        out["flags"] = {n: bool(b["flags"] >> i & 1)
                        for i, n in enumerate(["restartable", "preciseIP", "overflow", "corrected"])}
    if _valid(b, 5):
        out["level"] = b["level"]
    if _valid(b, 6):
        out["cpuVersionInfo"] = b["cpu_version"]
    if _valid(b, 7):
        text = _untrusted(b["cpu_brand"])
        if text is not None:
            out["cpuBrandString"] = text
    for bit, src, dst in [(8, "processor_id", "processorID"), (9, "target_address", "targetAddress"),
                          (10, "requestor_id", "requestorID"), (11, "responder_id", "responderID"),
                          (12, "instruction_ip", "instructionIP")]:
        if _valid(b, bit):
            out[dst] = b[src]
    return "A Generic Processor Error occurred", out


def _bank(b, bit):
    if _valid(b, bit):
        return {"value": b["bank"]}
    return {"address": b["bank"] & 0xFF, "group": b["bank"] >> 8}


def _memory(b):
    out = {}
    if _valid(b, 0):
        out["errorStatus"] = error_status(b["error_status"])
    out["bank"] = _bank(b, 6)
    if _valid(b, 14):
        out["memoryErrorType"] = pair(b["memory_error_type"], MEMORY_ERROR_TYPES)
    if _valid(b, 18):
        ext = {"rowBit16": bool(b["extended"] & 1), "rowBit17": bool(b["extended"] >> 1 & 1)}
        if _valid(b, 21):
            ext["chipIdentification"] = b["extended"] >> 5
        out["extended"] = ext
    if _valid(b, 16):
        out["cardSmbiosHandle"] = b["card_handle"]
    if _valid(b, 17):
        out["moduleSmbiosHandle"] = b["module_handle"]
    if _valid(b, 1):
        out["physicalAddress"] = b["physical_address"]
        out["physicalAddressHex"] = f"0x{b['physical_address']:016X}"
    for bit, src, dst in [(2, "physical_address_mask", "physicalAddressMask"), (3, "node", "node"),
                          (4, "card", "card"), (5, "module", "moduleRank"), (7, "device", "device"),
                          (8, "row", "row"), (9, "column", "column"), (10, "bit_position", "bitPosition"),
                          (11, "requestor_id", "requestorID"), (12, "responder_id", "responderID"),
                          (13, "target_id", "targetID"), (15, "rank_number", "rankNumber")]:
        if _valid(b, bit):
            out[dst] = b[src]
    msg = "A Memory Error occurred"
    return msg, out


def _memory2(b):
    out = {}
    if _valid(b, 0):
        out["errorStatus"] = error_status(b["error_status"])
    out["bank"] = _bank(b, 6)
    if _valid(b, 13):
        out["memoryErrorType"] = pair(b["memory_error_type"], MEMORY_ERROR_TYPES)
    if _valid(b, 14):
        out["status"] = {"value": b["status"], "state": "Uncorrected" if b["status"] & 1 else "Corrected"}
    # SPEC: libcper gates the physical address on bit 0 (error status) and always adds the hex form
    if _valid(b, 1):
        out["physicalAddress"] = b["physical_address"]
        out["physicalAddressHex"] = f"0x{b['physical_address']:016X}"
    for bit, src, dst in [(2, "physical_address_mask", "physicalAddressMask"), (3, "node", "node"),
                          (4, "card", "card"), (5, "module", "module"), (7, "device", "device"),
                          (8, "row", "row"), (9, "column", "column"), (10, "rank", "rank"),
                          (11, "bit_position", "bitPosition"), (12, "chip_id", "chipID"),
                          (15, "requestor_id", "requestorID"), (16, "responder_id", "responderID"),
                          (17, "target_id", "targetID"), (18, "card_handle", "cardSmbiosHandle"),
                          (19, "module_handle", "moduleSmbiosHandle")]:
        if _valid(b, bit):
            out[dst] = b[src]
    return "A Memory Error occurred", out


def _firmware(b):
    out = {"errorRecordType": pair(b["record_type"], FIRMWARE_TYPES), "revision": b["revision"],
           "recordID": b["record_identifier"]}
    if b["revision"] >= 2:
        out["recordIDGUID"] = b["record_identifier_guid"]
    return "A Firmware Error occurred", out


def _pci_bus(b):
    out = {}
    if _valid(b, 0):
        out["errorStatus"] = error_status(b["error_status"])
    if _valid(b, 1):
        out["errorType"] = pair(b["error_type"], PCI_BUS_ERROR_TYPES)
    if _valid(b, 2):
        out["busID"] = {"busNumber": b["bus_id"]["bus"], "segmentNumber": b["bus_id"]["segment"]}
    if _valid(b, 3):
        out["busAddress"] = b["bus_address"]
    if _valid(b, 4):
        out["busData"] = b["bus_data"]
    if _valid(b, 5):
        out["busCommandType"] = "PCI-X" if b["bus_command"] >> 56 & 1 else "PCI"
    if _valid(b, 6):
        out["busRequestorID"] = b["requestor_id"]
        out["busRequestorIDHex"] = f"0x{b['requestor_id']:016X}"
    if _valid(b, 7):
        out["busCompleterID"] = b["completer_id"]
        out["busCompleterIDHex"] = f"0x{b['completer_id']:016X}"
    if _valid(b, 8):
        out["targetID"] = b["target_id"]
    return "A PCI/PCI-X Bus Error occurred", out


def _pci_component(b):
    out = {}
    if _valid(b, 0):
        out["errorStatus"] = error_status(b["error_status"])
    if _valid(b, 1):
        i = b["id_info"]
        out["idInfo"] = {"vendorID": i["vendor_id"], "deviceID": i["device_id"],
                         "classCode": i["class_code"], "functionNumber": i["function"],
                         "deviceNumber": i["device"], "busNumber": i["bus"], "segmentNumber": i["segment"]}
    if _valid(b, 2):
        out["memoryNumber"] = b["memory_number"]
    if _valid(b, 3):
        out["ioNumber"] = b["io_number"]
    if _valid(b, 4):
        out["registerDataPairs"] = [{"firstHalf": r["address"], "secondHalf": r["value"]}
                                    for r in b["registers"]]
    return "A PCI Component Error occurred", out


def _dmar_generic(b):
    fr = b["fault_reason"]
    reason = {"value": fr}
    if fr in DMAR_FAULT_REASONS:
        reason["description"] = DMAR_FAULT_REASONS[fr][1]
    reason["name"] = DMAR_FAULT_REASONS[fr][0] if fr in DMAR_FAULT_REASONS else RESERVED
    out = {"requesterID": b["requester_id"], "segmentNumber": b["segment_number"], "faultReason": reason,
           "accessType": pair(b["access_type"], ["DMA Write", "DMA Read"]),
           "addressType": pair(b["address_type"], ["Untranslated Request", "Translation Request"]),
           "architectureType": pair(b["architecture_type"], ["VT-d", "IOMMU"]),
           "deviceAddress": b["device_address"]}
    return "A Generic DMAr Error occurred", out


_PTE_NAMES = [(f"pte_l{n}", f"pageTableEntry_Level{n}") for n in (6, 5, 4, 3, 2, 1)]


def _dmar_vtd(b):
    fr = int.from_bytes(bytes.fromhex(b["fault_record"]), "little")
    out = {"version": b["version"], "revision": b["revision"],
           "oemID": int.from_bytes(bytes.fromhex(b["oem_id"]), "little"),
           "capabilityRegister": b["capability"], "extendedCapabilityRegister": b["extended_capability"],
           "globalCommandRegister": b["global_command"], "globalStatusRegister": b["global_status"],
           "faultStatusRegister": b["fault_status"],
           "faultRecord": {"faultInformation": fr >> 12 & (1 << 52) - 1, "sourceIdentifier": fr >> 64 & 0xFFFF,
                           "privelegeModeRequested": bool(fr >> 93 & 1),
                           "executePermissionRequested": bool(fr >> 94 & 1),
                           "pasidPresent": bool(fr >> 95 & 1), "faultReason": fr >> 96 & 0xFF,
                           "pasidValue": fr >> 104 & 0xFFFFF, "addressType": fr >> 124 & 3,
                           "type": pair(fr >> 126 & 1, ["Write Request", "Read/AtomicOp Request"],
                                        "Unknown")},
           "rootEntry": b64(b["root_entry"]), "contextEntry": b64(b["context_entry"])}
    for src, dst in _PTE_NAMES:
        out[dst] = b[src]
    return "A VT-d DMAr Error occurred", out


def _dmar_iommu(b):
    out = {"revision": b["revision"], "controlRegister": b["control"], "statusRegister": b["status"],
           "eventLogEntry": b64(b["event_log_entry"]), "deviceTableEntry": b64(b["device_table_entry"])}
    for src, dst in _PTE_NAMES:
        out[dst] = b[src]
    return "An IOMMU DMAr Error occurred", out


def _ccix_per(b):
    out = {"length": b["length"]}
    if _valid(b, 0):
        out["ccixSourceID"] = b["ccix_source_id"]
    if _valid(b, 1):
        out["ccixPortID"] = b["ccix_port_id"]
    if _valid(b, 2) and b["length"] > 16:
        put_b64(out, "ccixPERLog", b["per_log"])
    return "A CCIX PER Log Error occurred", out


def _cxl_protocol(b):
    out = {}
    agent = b["agent_type"]
    if _valid(b, 0):
        out["agentType"] = pair(agent, ["CXL 1.1 Device", "CXL 1.1 Host Downstream Port"])
    if _valid(b, 1):
        a = b["agent_address"]
        if agent == 0:
            out["cxlAgentAddress"] = {"functionNumber": a & 0xFF, "deviceNumber": a >> 8 & 0xFF,
                                      "busNumber": a >> 16 & 0xFF, "segmentNumber": a >> 24 & 0xFFFF}
        elif agent == 1:
            out["cxlAgentAddress"] = {"value": a}
    d = b["device_id"]
    dev = {"vendorID": d["vendor_id"]}
    if _valid(b, 2):
        dev.update({"deviceID": d["device_id"], "subsystemVendorID": d["subsystem_vendor_id"],
                    "subsystemDeviceID": d["subsystem_id"], "classCode": d["class_code"],
                    "slotNumber": d["slot"] >> 3})
    out["deviceID"] = dev
    if _valid(b, 3) and agent == 0:
        out["deviceSerial"] = b["serial_number"]
    if _valid(b, 4):
        put_b64(out, "capabilityStructure", b["capability"])
    if _valid(b, 5):
        out["dvsecLength"] = b["dvsec_length"]
        put_b64(out, "cxlDVSEC", b["dvsec"])
    if _valid(b, 6):
        out["errorLogLength"] = b["error_log_length"]
        put_b64(out, "cxlErrorLog", b["error_log"])
    return "A CXL Protocol Error occurred", out


def _cxl_component(b):
    out = {"length": b["length"]}
    if _valid(b, 0):
        d = b["device_id"]
        out["deviceID"] = {"vendorID": d["vendor_id"], "deviceID": d["device_id"],
                           "functionNumber": d["function"], "deviceNumber": d["device"],
                           "busNumber": d["bus"], "segmentNumber": d["segment"],
                           "slotNumber": d["slot"] >> 3}
    if _valid(b, 1):
        out["deviceSerial"] = b["serial_number"]
    if _valid(b, 2):
        put_b64(out, "cxlComponentEventLog", b["event_log"], wrap=True)
    return "A CXL Component Error occurred", out


def _ampere(b):
    return ("An Ampere Error occurred", {"typeId": b["type_id"], "subTypeId": b["subtype_id"],
                                          "instanceId": b["instance_id"]})


NV_CHANNEL_DISABLE_REASONS = ["Alias Checker Failed", "Training at POR frequency failed",
                              "Training at boot frequency failed", "Threshold of bad pages exceeded"]


def _nv_cmet(r: dict) -> dict:
    """A CMET-INFO register pair: a memory channel's address, and in the value its signed error
    count (bits 31:0), enabled (32), spare (33) and disable reason (36:35) bits."""
    v = r["value"]
    count = v & 0xFFFFFFFF
    reason = v >> 35 & 3
    return {"ChannelAddress": f"0x{r['address']:016X}", "ErrorCount": count - (count >> 31 << 32),
            "ChannelEnabled": bool(v >> 32 & 1), "ChannelIsSpare": bool(v >> 33 & 1),
            "DisabledReason": {"raw": reason, "value": NV_CHANNEL_DISABLE_REASONS[reason]}}


def _nvidia(b):
    out = {"signature": b["signature"], "severity": _sev(b["severity"]), "errorType": b["error_type"],
           "errorInstance": b["error_instance"], "socket": b["socket"], "registerCount": b["number_regs"],
           "instanceBase": b["instance_base"]}
    if b["signature"].startswith("CMET-INFO"):    # libcper reads these pairs as channel status
        out["CMETInfo"] = [_nv_cmet(r) for r in b["registers"]]
    else:
        out["registers"] = [{"address": r["address"], "value": r["value"]} for r in b["registers"]]
    return "A NVIDIA Error occurred", out


# -- IA32/X64 (UEFI N.2.4.2) -------------------------------------------------------------------

IA32_CHECK_NAMES = ["Cache Check Error", "TLB Check Error", "Bus Check Error", "MS Check Error"]
IA32_TRANSACTIONS = ["Instruction", "Data Access", "Generic"]
IA32_OPERATIONS = ["Generic Error", "Generic Read", "Generic Write", "Data Read", "Data Write",
                   "Instruction Fetch", "Prefetch", "Eviction", "Snoop"]
IA32_PARTICIPATION = ["Local processor originated request", "Local processor responded to request",
                      "Local processor observed", "Generic"]
IA32_ADDRESS_SPACES = ["Memory Access", "Reserved", "I/O", "Other Transaction"]
IA32_MS_ERRORS = ["No Error", "Unclassified", "Microcode ROM Parity Error", "External Error", "FRC Error",
                  "Internal Unclassified"]
IA32_CONTEXTS = ["Unclassified Data", "MSR Registers", "32-bit Mode Execution Context",
                 "64-bit Mode Execution Context", "FXSave Context", "32-bit Mode Debug Registers",
                 "64-bit Mode Debug Registers", "Memory Mapper Registers"]
# register state of context types 2 and 3 (packed EFI_CONTEXT_IA32/X64_REGISTER_STATE)
IA32_REGS = struct.Struct("<8I6H2I5I2I2I2H")
X64_REGS = struct.Struct("<16Q6HI8Q2Q2Q2H")
_CHECK_BOOLS = ["processorContextCorrupt", "uncorrected", "preciseIP", "restartableIP", "overflow"]


def _bit(v: int, n: int) -> bool:
    return bool(v >> n & 1)


def _ia32_check(kind: int, ci: int) -> dict:
    """Check information of a cache/TLB (0/1), bus (2) or MS (3) check: its own 16 validation bits."""
    valid = ci & 0xFFFF
    out = {}
    if kind == 3:
        if _bit(valid, 0):
            out["errorType"] = pair(ci >> 16 & 7, IA32_MS_ERRORS, "Unknown (Processor Specific)")
        for i, name in enumerate(_CHECK_BOOLS):
            if _bit(valid, i + 1):
                out[name] = _bit(ci, 19 + i)
        return out
    if _bit(valid, 0):
        out["transactionType"] = pair(ci >> 16 & 3, IA32_TRANSACTIONS)
    if _bit(valid, 1):
        out["operation"] = pair(ci >> 18 & 0xF, IA32_OPERATIONS)
    if _bit(valid, 2):
        out["level"] = ci >> 22 & 7
    for i, name in enumerate(_CHECK_BOOLS):
        if _bit(valid, i + 3):
            out[name] = _bit(ci, 25 + i)
    if kind == 2:
        if _bit(valid, 9):
            out["timedOut"] = _bit(ci, 32)
        if _bit(valid, 8):
            out["participationType"] = pair(ci >> 30 & 3, IA32_PARTICIPATION, "Unknown")
        if _bit(valid, 10):
            out["addressSpace"] = pair(ci >> 33 & 3, IA32_ADDRESS_SPACES, "Unknown")
    return out


def _ia32_registers(kind: int, raw: bytes):
    if kind == 2 and len(raw) >= IA32_REGS.size:
        v = IA32_REGS.unpack_from(raw)
        names = ["eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "cs", "ds", "ss", "es", "fs", "gs",
                 "eflags", "eip", "cr0", "cr1", "cr2", "cr3", "cr4"]
        out = dict(zip(names, v[:21]))
        out.update({"gdtr": v[21] + (v[22] << 32), "idtr": v[23] + (v[24] << 32), "ldtr": v[25], "tr": v[26]})
        return out
    if kind == 3 and len(raw) >= X64_REGS.size:
        v = X64_REGS.unpack_from(raw)
        names = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"] + [f"r{i}" for i in range(8, 16)] + \
            ["cs", "ds", "ss", "es", "fs", "gs"]
        out = dict(zip(names, v[:22]))           # v[22] is the reserved dword
        out.update(zip(["rflags", "eip", "cr0", "cr1", "cr2", "cr3", "cr4", "cr8", "gdtr_0", "gdtr_1", "idtr_0",
                        "idtr_1", "ldtr", "tr"], v[23:]))
        return out
    if kind in (2, 3) or not raw:
        return None   # an empty register array: no blob (libcper never emits an empty one)
    return {"data": base64.b64encode(raw).decode()}


def _ia32x64(b):
    from ..guids import IA32X64_CHECK_TYPES
    vb = b["validation_bits"]
    out = {"processorErrorInfoNum": vb["error_info_count"], "processorContextInfoNum": vb["context_count"]}
    if vb["lapic_id"]:
        out["localAPICID"] = b["lapic_id"]
    if vb["cpuid"]:
        eax, ebx, ecx, edx = struct.unpack_from("<4Q", bytes.fromhex(b["cpuid"]))
        out["cpuidInfo"] = {"eax": eax, "ebx": ebx, "ecx": ecx, "edx": edx}
    guids = [g for g, _t in IA32X64_CHECK_TYPES.values()]
    infos = []
    for e in b["error_info"]:
        kind = guids.index(e["error_type"]) if e["error_type"] in guids else None
        info = {"type": {"guid": e["error_type"], "name": IA32_CHECK_NAMES[kind] if kind is not None else "Unknown"}}
        v = e["validation_bits"]
        if _bit(v, 0) and kind is not None:
            info["checkInfo"] = _ia32_check(kind, e["check_info"])
        for bit, src, dst in [(1, "target_id", "targetAddressID"), (2, "requestor_id", "requestorID"),
                              (3, "responder_id", "responderID"), (4, "instruction_ip", "instructionPointer")]:
            if _bit(v, bit):
                info[dst] = e[src]
        infos.append(info)
    out["processorErrorInfo"] = infos
    contexts = []
    for c in b["context"]:
        item = {"registerContextType": pair(c["register_type"], IA32_CONTEXTS),
                "registerArraySize": c["array_size"], "msrAddress": c["msr_address"],
                "mmRegisterAddress": c["mm_register_address"]}
        regs = _ia32_registers(c["register_type"], bytes.fromhex(c["register_array"]))
        if regs is not None:
            item["registerArray"] = regs
        contexts.append(item)
    out["processorContextInfo"] = contexts
    return "An IA32/x64 Processor Error occurred", out


# -- ARM (UEFI N.2.4.4) ---------------------------------------------------------------------------

ARM_INFO_TYPES = {1: "Cache Error", 2: "TLB Error", 4: "Bus Error", 8: "Micro-Architectural Error"}
ARM_CACHE, ARM_TLB, ARM_BUS = 1, 2, 4
ARM_TRANSACTIONS = ["Instruction", "Data Access", "Generic"]
ARM_CACHE_BUS_OPERATIONS = ["Generic Error", "Generic Read", "Generic Write", "Data Read", "Data Write",
                            "Instruction Fetch", "Prefetch", "Eviction", "Snooping", "Snooped", "Management"]
ARM_TLB_OPERATIONS = ["Generic Error", "Generic Read", "Generic Write", "Data Read", "Data Write",
                      "Instruction Fetch", "Prefetch", "Local Management Operation",
                      "External Management Operation"]
ARM_PARTICIPATION = ["Local Processor Originated Request", "Local Processor Responded to Request",
                     "Local Processor Observed", "Generic"]
ARM_ADDRESS_SPACES = {0: "External Memory Access", 1: "Internal Memory Access", 3: "Device Memory Access"}
ARM_CONTEXTS = ["AArch32 General Purpose Registers", "AArch32 EL1 Context Registers",
                "AArch32 EL2 Context Registers", "AArch32 Secure Context Registers",
                "AArch64 General Purpose Registers", "AArch64 EL1 Context Registers",
                "AArch64 EL2 Context Registers", "AArch64 EL3 Context Registers",
                "Miscellaneous System Register Structure"]
# register names per context type, and the width of each register (the arrays are packed)
ARM_REGISTERS = {
    0: (4, [f"r{i}" for i in range(13)] + ["r13_sp", "r14_lr", "r15_pc"]),
    1: (4, ["dfar", "dfsr", "ifar", "isr", "mair0", "mair1", "midr", "mpidr", "nmrr", "prrr", "sctlr_ns", "spsr",
            "spsr_abt", "spsr_fiq", "spsr_irq", "spsr_svc", "spsr_und", "tpidrprw", "tpidruro", "tpidrurw",
            "ttbcr", "ttbr0", "ttbr1", "dacr"]),
    2: (4, ["elr_hyp", "hamair0", "hamair1", "hcr", "hcr2", "hdfar", "hifar", "hpfar", "hsr", "htcr", "htpidr",
            "httbr", "spsr_hyp", "vtcr", "vttbr", "dacr32_el2"]),
    3: (4, ["sctlr_s", "spsr_mon"]),
    4: (8, [f"x{i}" for i in range(31)] + ["sp"]),
    5: (8, ["elr_el1", "esr_el1", "far_el1", "isr_el1", "mair_el1", "midr_el1", "mpidr_el1", "sctlr_el1", "sp_el0",
            "sp_el1", "spsr_el1", "tcr_el1", "tpidr_el0", "tpidr_el1", "tpidrro_el0", "ttbr0_el1", "ttbr1_el1"]),
    6: (8, ["elr_el2", "esr_el2", "far_el2", "hacr_el2", "hcr_el2", "hpfar_el2", "mair_el2", "sctlr_el2",
            "sp_el2", "spsr_el2", "tcr_el2", "tpidr_el2", "ttbr0_el2", "vtcr_el2", "vttbr_el2"]),
    7: (8, ["elr_el3", "esr_el3", "far_el3", "mair_el3", "sctlr_el3", "sp_el3", "spsr_el3", "tcr_el3", "tpidr_el3",
            "ttbr0_el3"]),
}
ARM_MISC = struct.Struct("<HQ")     # MRS encoding (op2:3 crm:4 crn:4 op1:3 o0:1), value


class _NotLikeLibcper(Exception):
    """Where libcper gives up on a section (it then prints the section as unknown bytes)."""


def _arm_info_detail(kind: int, info: int) -> dict:
    valid = info & 0xFFFF
    out = {}
    if _bit(valid, 0):
        out["transactionType"] = pair(info >> 16 & 3, ARM_TRANSACTIONS)
    if _bit(valid, 1):
        op = info >> 18 & 0xF
        if kind == ARM_BUS:
            out["operation"] = pair(op, ARM_CACHE_BUS_OPERATIONS[:7])     # libcper looks at 7 names
        else:
            out["operation"] = pair(op, ARM_CACHE_BUS_OPERATIONS if kind == ARM_CACHE else ARM_TLB_OPERATIONS)
    if _bit(valid, 2):
        out["level"] = info >> 22 & 7
    for i, name in enumerate(["processorContextCorrupt", "corrected", "precisePC", "restartablePC"]):
        if _bit(valid, i + 3):
            out[name] = _bit(info, 25 + i)
    if kind == ARM_BUS:
        if _bit(valid, 7):
            out["participationType"] = pair(info >> 29 & 3, ARM_PARTICIPATION, "Unknown")
        if _bit(valid, 8):
            out["timedOut"] = _bit(info, 31)
        if _bit(valid, 9):
            out["addressSpace"] = pair(info >> 32 & 3, ARM_ADDRESS_SPACES, "Unknown")
        if _bit(valid, 10):
            out["memoryAttributes"] = info >> 34 & 0x1FF       # bits 42:34
        if _bit(valid, 8):      # libcper gates the access mode on the time-out bit
            mode = info >> 43 & 1
            out["accessMode"] = {"value": mode, "name": "Secure" if mode == 0 else "Normal"}
        return {"busError": out}
    return {"cacheError" if kind == ARM_CACHE else "tlbError": out}


def _arm_error_info(e: dict) -> dict:
    v = e["validation_bits"]
    out = {"version": e["version"], "length": e["length"], "errorType": pair(e["type"], ARM_INFO_TYPES)}
    if _bit(v, 0):
        out["multipleError"] = {"value": e["multiple_error"],
                                "type": "Single Error" if e["multiple_error"] < 1 else "Multiple Errors"}
    if _bit(v, 1):
        from ..schemas.sections import ARM_ERROR_INFO
        flags = ARM_ERROR_INFO.field_int("flags", e["flags"])
        out["flags"] = {n: _bit(flags, i) for i, n in enumerate(["firstErrorCaptured", "lastErrorCaptured",
                                                                  "propagated", "overflow"])}
    if _bit(v, 2) and e["type"] in (ARM_CACHE, ARM_TLB, ARM_BUS):
        out["errorInformation"] = _arm_info_detail(e["type"], e["error_info"])
    if _bit(v, 3):
        out["virtualFaultAddress"] = e["virtual_fault_address"]
    if _bit(v, 4):
        out["physicalFaultAddress"] = e["physical_fault_address"]
    return out


def _arm_context(c: dict) -> dict:
    raw = bytes.fromhex(c["register_array"])
    kind = c["register_context_type"]
    out = {"version": c["version"], "registerContextType": pair(kind, ARM_CONTEXTS),
           "registerArraySize": c["register_array_size"]}
    if kind in ARM_REGISTERS:
        width, names = ARM_REGISTERS[kind]
        if len(raw) < width * len(names):
            raise _NotLikeLibcper()
        values = struct.unpack_from(f"<{len(names)}{'I' if width == 4 else 'Q'}", raw)
        out["registerArray"] = dict(zip(names, values))
    elif kind == 8:
        if len(raw) < ARM_MISC.size:
            raise _NotLikeLibcper()
        enc, value = ARM_MISC.unpack_from(raw)
        out["registerArray"] = {"mrsEncoding": {"op2": enc & 7, "crm": enc >> 3 & 0xF, "crn": enc >> 7 & 0xF,
                                                "op1": enc >> 11 & 7, "o0": enc >> 14 & 1}, "value": value}
    else:
        put_b64(out, "registerArray", raw, wrap=True)
    return out


def _arm(b):
    from ..schemas.sections import ARM, ARM_CONTEXT, ARM_ERROR_INFO
    v = b["validation_bits"]
    out = {"errorInfoNum": b["error_info_num"], "contextInfoNum": b["context_info_num"],
           "sectionLength": b["section_length"]}
    if _bit(v, 1):
        level = b["error_affinity_level"] | b["reserved"] << 8
        out["errorAffinity"] = {"value": level, "type": "Vendor Defined" if level < 4 else "Reserved"}
    if _bit(v, 0):
        out["mpidrEl1"] = b["mpidr"]
        out["affinity3"] = (b["mpidr"] & 0xFF00000000) >> 32
    out["midrEl1"] = b["midr"]
    if _bit(v, 2):
        out["running"] = bool(b["running_state"] & 1)
    if not b["running_state"] >> 31:
        out["psciState"] = b["psci_state"]
    try:
        out["errorInfo"] = [_arm_error_info(e) for e in b["error_info"]]
        out["contextInfo"] = [_arm_context(c) for c in b["context"]]
    except _NotLikeLibcper:
        return None
    if _bit(v, 3):
        used = ARM.size + ARM_ERROR_INFO.size * len(b["error_info"]) + sum(
            ARM_CONTEXT.size + len(c["register_array"]) // 2 for c in b["context"])
        rest = bytes.fromhex(b.get("extra", ""))
        if used < b["section_length"]:
            if b["section_length"] - used > len(rest):
                return None
            put_b64(out, "vendorSpecificInfo", rest[:b["section_length"] - used], wrap=True)
    return "An ARM Processor Error occurred", out


# -- Arm RAS node (Arm DEN0085), rendered from the section's bytes as libcper walks them ----------------

RAS_COMPONENTS = ["ProcessorErrorNode", "MemoryErrorNode", "SMMUErrorNode", "VendorDefinedErrorNode",
                  "GICErrorNode", "PciExpressErrorNode", "ProxyErrorNode"]
RAS_IP_INSTANCE_FORMATS = ["PE", "SystemPhysicalAddress", "LocalAddressIdentifier", "SocSpecificIpIdentifier"]
RAS_IP_TYPE_FORMATS = ["PE", "SMMU_IIDR", "GIC_IIDR", "PIDR"]
RAS_SCOPES = ["SystemPhysicalAddressSpace", "LocalAddressSpace"]
RAS_MPAM_PARTID = "ebb45182-fb03-4bf9-9aca-8613709fd789"   # key/value pair holding an MPAM PARTID
RAS_NODE, RAS_SYNDROME, RAS_AUX, RAS_CONTEXT, RAS_REGISTER, RAS_KVP = 80, 72, 16, 16, 16, 24


def _dict(value: int, names) -> dict:
    out = {"raw": value}
    if value < len(names):
        out["value"] = names[value]
    return out


def _hex64(v: int) -> str:
    return f"0x{v:016X}"


def _u(raw: bytes, off: int, size: int) -> int:
    return int.from_bytes(raw[off:off + size], "little")


def _printable(raw: bytes):
    """libcper's add_untrusted_string: up to the first NUL; left out if anything is not printable."""
    text = raw.split(b"\0", 1)[0]
    return text.decode("ascii") if all(0x20 <= c < 0x7F for c in text) else None


def _arm_ras(raw: bytes) -> dict:
    n = len(raw)
    if n < RAS_NODE:
        return {}
    count, syn_off, aux_off = _u(raw, 8, 4), _u(raw, 12, 2), _u(raw, 14, 2)
    if count * RAS_SYNDROME > (n - syn_off) % (1 << 32) or _u(raw, 0, 4) != 1 or syn_off < RAS_NODE \
            or syn_off >= n or aux_off and aux_off >= n:
        return {}
    out = {"revision": 1, "componentType": _dict(raw[4], RAS_COMPONENTS), "errorSyndromeArrayNumEntries": count,
           "ipInstanceFormat": _dict(raw[16], RAS_IP_INSTANCE_FORMATS)}
    inst = {}
    if raw[16] == 0:
        inst["mpidrEl1"] = _hex64(_u(raw, 24, 8))
    elif raw[16] == 1:
        inst["systemPhysicalAddress"] = _hex64(_u(raw, 24, 8))
    elif raw[16] == 2:
        inst.update(localAddressIdentifier=_hex64(_u(raw, 24, 8)), baseAddress=_hex64(_u(raw, 32, 8)))
    elif raw[16] == 3:
        inst["socSpecificIpIdentifier"] = "<OpaqueData>"
    out["ipInstance"] = inst
    out["ipTypeFormat"] = _dict(raw[17], RAS_IP_TYPE_FORMATS)
    ip = {}
    if raw[17] == 0:
        ip.update(midrEl1=_hex64(_u(raw, 40, 8)), revidrEl1=_hex64(_u(raw, 48, 8)), aidrEl1=_hex64(_u(raw, 56, 8)))
    elif raw[17] == 1:
        ip.update(iidr=f"0x{_u(raw, 40, 4):08X}", aidr=f"0x{_u(raw, 44, 4):08X}")
    elif raw[17] == 2:
        ip.update({f"pidr{i}": f"0x{raw[40 + k]:02X}" for k, i in enumerate((3, 2, 1, 0, 7, 6, 5, 4))})
    out["ipType"] = ip
    user = _printable(raw[64:80])
    if user is not None:
        out["userData"] = user
    syndromes = []
    for i in range(count):
        p = syn_off + i * RAS_SYNDROME
        rev = raw[p + 4]
        d = {"errorRecordIndex": _u(raw, p, 4), "rasExtensionRevisionField": rev >> 4 & 0xF,
             "rasExtensionArchVersion": rev & 0xF}
        regs = ["errorRecordFeatureRegister", "errorRecordControlRegister", "errorRecordPrimaryStatusRegister",
                "errorRecordAddressRegister", "errorRecordMiscRegister0", "errorRecordMiscRegister1"]
        regs += ["errorRecordMiscRegister2", "errorRecordMiscRegister3"] if rev else []
        for k, name in enumerate(regs):
            d[name] = _hex64(_u(raw, p + 8 + 8 * k, 8))
        syndromes.append(d)
    out["errorSyndromes"] = syndromes
    aux = _arm_ras_aux(raw, aux_off, count)
    if aux is not None:
        out["auxData"] = aux
    return out


def _arm_ras_aux(raw: bytes, off: int, count: int):
    if not off or off < RAS_NODE + count * RAS_SYNDROME or len(raw) - off < RAS_AUX:
        return None
    a = raw[off:]
    version, contexts_n, size, kv_off, kv_n = a[0], _u(a, 2, 2), _u(a, 4, 4), _u(a, 8, 4), _u(a, 12, 2)
    kv_ok = kv_n == 0 and kv_off == size or kv_off < size
    if not (version == 1 and size <= len(a) and size >= RAS_AUX and kv_ok and kv_off >= RAS_AUX):
        return None
    out = {"version": version}
    contexts, cursor, remaining = [], RAS_AUX, size - RAS_AUX
    for _ in range(contexts_n):
        if remaining < RAS_CONTEXT:
            return out
        length, flags, regs_n, asid = _u(a, cursor, 4), a[cursor + 4], _u(a, cursor + 6, 2), _u(a, cursor + 8, 4)
        needed = RAS_CONTEXT + regs_n * RAS_REGISTER
        if length < RAS_CONTEXT or length < needed or needed > remaining or cursor + length > kv_off:
            return out
        scope = flags & 1
        ctx = {"flags": {"addressSpaceIdentifierScope": RAS_SCOPES[scope]}}
        if scope == 1:
            ctx["addressSpaceIdentifier"] = asid
        base = cursor + RAS_CONTEXT
        ctx["registers"] = [{"address": _hex64(_u(a, base + 16 * r, 8)), "value": _hex64(_u(a, base + 16 * r + 8, 8))}
                            for r in range(regs_n)]
        contexts.append(ctx)
        cursor += length
        remaining -= length
    out["contexts"] = contexts
    if kv_n * RAS_KVP <= size - kv_off:
        pairs = []
        for k in range(kv_n):
            p = kv_off + k * RAS_KVP
            key = guid_str(a[p:p + 16])
            value = _u(a, p + 16, 8)
            pairs.append({"key": key, "mpamPartId": value & 0xFFFF} if key == RAS_MPAM_PARTID
                         else {"key": key, "value": _hex64(value)})
        out["keyValuePairs"] = pairs
    return out


# -- NVIDIA event section (libcper at the corpus commit), rendered from the bytes --------------------

NV_DEVICES = ["CPU", "GPU", "DPU", "NIC", "SWX", "BMC"]
NV_INFO_MAJOR = {0: 0, 1: 1}               # CPU info 0.x, GPU info 1.x
NV_ORIGINATORS = ["Invalid", "Reserved1", "PF_GSP_FW", "VF_GSP_FW", "PF_DRIVER", "VF_DRIVER"]
NV_GPU_ARCH = {0x16: "Turing", 0x17: "Ampere", 0x18: "Hopper", 0x19: "Ada", 0x1A: "Blackwell",
               0x1B: "Blackwell2", 0x1C: "Rubin"}
NV_CTX = 16


def _signed8(b: int) -> int:
    return b - 256 if b >= 128 else b


def _mac(v: int) -> str:
    return ":".join(f"{b:02X}" for b in v.to_bytes(8, "big"))


def _nv_context_at(raw: bytes, n: int):
    """libcper's get_event_context_n: the offset of context n, or None."""
    end = len(raw)
    pos = 32
    if pos + 3 > end:
        return None
    info_size = raw[pos + 2]
    if pos + info_size > end:
        return None
    pos += info_size
    for _ in range(n):
        if pos + NV_CTX > end or pos + _u(raw, pos, 4) > end:
            return None
        pos += _u(raw, pos, 4)
    return pos if pos + NV_CTX <= end else None


def _nv_cpu_info(raw: bytes) -> dict:
    out = {}
    if raw[34] < 3 + 29:
        return out
    p = 35
    arch = _u(raw, p + 1, 4)
    out["SocketNum"] = raw[p]
    out["Architecture"] = {"hidFam": f"0x{arch & 0xF:02X}", "revision": f"{arch >> 4 & 0xF}.{arch >> 16 & 0xF}",
                           "chipId": f"0x{arch >> 8 & 0xFF:02X}",
                           "preSiPlatform": "Silicon" if not arch >> 20 & 0x1F else "PreSilicon",
                           "errorInjection": bool(arch >> 31 & 1)}
    for i in range(4):
        out[f"Ecid{i + 1}"] = f"0x{_u(raw, p + 5 + 4 * i, 4):08X}"
    out["InstanceBase"] = _hex64(_u(raw, p + 21, 8))
    return out


def _nv_gpu_info(raw: bytes) -> dict:
    out = {}
    if raw[34] < 3 + 13:
        return out
    p = 35
    originator = raw[p]
    out["EventOriginator"] = NV_ORIGINATORS[originator] if originator < len(NV_ORIGINATORS) else "Unknown"
    out["SourcePartition"] = _u(raw, p + 1, 2)
    out["SourceSubPartition"] = _u(raw, p + 3, 2)
    out["Pdi"] = _mac(_u(raw, p + 5, 8))
    return out


def _nv_gpu_context(kind: int, raw: bytes, data: int, size: int) -> dict:
    out = {}
    if data + size > len(raw):
        return out
    if kind == 0x8000:
        if size < 192:
            return out
        for name, off, n in (("deviceName", 0, 48), ("firmwareVersion", 48, 16), ("pfDriverMicrocodeVersion", 64, 16),
                             ("pfDriverVersion", 80, 16), ("vfDriverVersion", 96, 16)):
            text = _printable(raw[data + off:data + off + n])
            out[name] = text if text is not None else ""
        out["configuration"] = _hex64(_u(raw, data + 112, 8))
        out["pdi"] = _mac(_u(raw, data + 120, 8))
        arch = _u(raw, data + 128, 4)
        out["architectureId"] = {"raw": f"0x{arch:08X}", "architecture": NV_GPU_ARCH.get(arch >> 24 & 0x3F, "Unknown")}
        out["hardwareInfoType"] = raw[data + 132]
        if raw[data + 132] == 0:
            q = data + 133
            out["pciInfo"] = {"class": f"0x{raw[q]:02X}", "subclass": f"0x{raw[q + 1]:02X}", "rev": f"0x{raw[q + 2]:02X}",
                              "vendorId": f"0x{_u(raw, q + 3, 2):04X}", "deviceId": f"0x{_u(raw, q + 5, 2):04X}",
                              "subsystemVendorId": f"0x{_u(raw, q + 7, 2):04X}",
                              "subsystemId": f"0x{_u(raw, q + 9, 2):04X}"}
            for k, name in enumerate(["bar0Start", "bar0Size", "bar1Start", "bar1Size", "bar2Start", "bar2Size"]):
                out["pciInfo"][name] = _hex64(_u(raw, q + 11 + 8 * k, 8))
    elif kind == 0x8001:
        if size < 4:
            return out
        out["xidCode"] = _u(raw, data, 4)
        text = _printable(raw[data + 4:data + 4 + min(size - 4, 236)])
        out["message"] = text if text is not None else ""
    elif kind == 0x8002:
        if size < 16:
            return out
        out.update(flags=f"0x{raw[data]:02X}", recoveryAction=_u(raw, data + 4, 2),
                   diagnosticFlow=_u(raw, data + 6, 2))
    return out


def _nv_values(kind: int, raw: bytes, data: int, size: int) -> dict:
    """Context data types 1-4: arrays of 64/32-bit keys and values (count kept to a byte, as libcper)."""
    if data + size > len(raw):
        return {}
    width, keyed, name = {1: (8, True, "keyValArray64"), 2: (4, True, "keyValArray32"),
                          3: (8, False, "valArray64"), 4: (4, False, "valArray32")}[kind]
    step = width * (2 if keyed else 1)
    bits = width * 8
    items = []
    for i in range((size // step) & 0xFF):
        p = data + i * step
        fmt = (lambda v: _hex64(v)) if width == 8 else (lambda v: f"0x{v:08X}")
        if keyed:
            items.append({f"key{bits}": fmt(_u(raw, p, width)), f"val{bits}": fmt(_u(raw, p + width, width))})
        else:
            items.append({f"val{bits}": fmt(_u(raw, p, width))})
    return {name: items}


def _nvidia_event(raw: bytes):
    if len(raw) < 35 or _signed8(raw[0]) != 1:
        return None
    count, device, subtype = _signed8(raw[1]), _signed8(raw[2]), raw[2]
    header = {}
    sig = _printable(raw[16:32])
    header["signature"] = sig if sig else ""
    header["version"] = 1
    header["sourceDeviceType"] = NV_DEVICES[subtype] if subtype < len(NV_DEVICES) else "Unknown"
    header["type"] = f"0x{_u(raw, 4, 2):04X}"
    header["subtype"] = f"0x{_u(raw, 6, 2):04X}"
    if _u(raw, 8, 8):
        header["linkId"] = _hex64(_u(raw, 8, 8))
    major, minor = raw[33], raw[32]
    info = {"version": f"{major}.{minor}"}
    if device in NV_INFO_MAJOR and major == NV_INFO_MAJOR[device]:
        info["cpu" if device == 0 else "gpu"] = _nv_cpu_info(raw) if device == 0 else _nv_gpu_info(raw)
    contexts = []
    n, last = 0, None
    while count < 0 or n < count:      # libcper reads the count as a signed char: >= 128 never ends there
        pos = _nv_context_at(raw, n)
        n += 1
        if pos is None or count < 0 and (pos == last or n > 256):
            break                      # (where libcper would spin for ever, we stop)
        last = pos
        kind, size = _u(raw, pos + 8, 2), _u(raw, pos + 12, 4)
        ctx = {"version": _u(raw, pos + 4, 2), "dataFormatType": f"0x{kind:04X}",
               "dataFormatVersion": _u(raw, pos + 10, 2), "dataSize": size}
        data = pos + NV_CTX
        if device == 1 and kind in (0x8000, 0x8001, 0x8002):
            key = {0x8000: "gpuInitMetadata", 0x8001: "gpuLegacyXid", 0x8002: "gpuRecommendedActions"}[kind]
            ctx["data"] = {key: _nv_gpu_context(kind, raw, data, size)}
        elif kind in (1, 2, 3, 4):
            ctx["data"] = {f"type{kind}": _nv_values(kind, raw, data, size)}
        else:
            ctx["data"] = {"opaque": raw[data:data + size].hex() if data + size <= len(raw) else {}}
        contexts.append(ctx)
    return {"eventHeader": header, "eventInfo": info, "eventContexts": contexts}


# sections libcper walks from their bytes (also when our layout could not read them)
RAW_RENDERERS = {"arm_ras": ("ARM RAS error occured", _arm_ras),
                 "nvidia_event": ("An Nvidia Event occurred", _nvidia_event)}


SECTION_RENDERERS = {
    "processor_generic": _generic,
    "ia32x64": _ia32x64,
    "arm": _arm,
    "platform_memory": _memory,
    "platform_memory2": _memory2,
    "firmware_error_record": _firmware,
    "pci_bus": _pci_bus,
    "pci_component": _pci_component,
    "dmar_generic": _dmar_generic,
    "dmar_vtd": _dmar_vtd,
    "dmar_iommu": _dmar_iommu,
    "ccix_per": _ccix_per,
    "cxl_protocol": _cxl_protocol,
    **{k: _cxl_component for k in ("cxl_general_media", "cxl_dram", "cxl_memory_module",
                                   "cxl_physical_switch", "cxl_virtual_switch", "cxl_mld_port")},
    "ampere": _ampere,
    "nvidia": _nvidia,
    "pcie": libcper_pcie.section,
}
