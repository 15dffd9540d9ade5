"""libcper's CPER-JSON (openbmc/libcper, cper-convert to-json) as the few model fields the fleet
rows read. libcper leaves out fields whose validation bit is clear, so a field's presence is its
bit; the item's key is the hash of the JSON text itself (the record's bytes are not there)."""
from __future__ import annotations

import base64
from typing import Optional

from ..errors import DecodeError
from ..guids import SECTION_KEY_BY_GUID
from ..schemas.sections import BODIES


def is_libcper(doc: dict) -> bool:
    return isinstance(doc.get("header"), dict) and "sectionDescriptors" in doc


def _sev(x) -> Optional[str]:
    code = x.get("code") if isinstance(x, dict) else None
    return ("recoverable", "fatal", "corrected", "informational")[code] if code in (0, 1, 2, 3) else None


def _val(x):
    return x.get("value") if isinstance(x, dict) else x


def _pick(src: dict, names: dict) -> dict:
    return {ours: _val(src[theirs]) for theirs, ours in names.items() if theirs in src}


def _bdf(d: dict, bus: str) -> dict:
    return _pick(d, {"vendorID": "vendor_id", "deviceID": "device_id", "classCode": "class_code",
                     "functionNumber": "function", "deviceNumber": "device", "segmentNumber": "segment",
                     bus: "primary_bus" if bus == "primaryOrDeviceBusNumber" else "bus"})


def _with_bits(key: str, body: dict, extra: int = 0) -> dict:
    layout = BODIES[key].layout
    if layout.valid_field:
        body[layout.valid_field] = extra | sum(1 << bit for name, bit in layout.valid_bits.items()
                                               if body.get(name) is not None)
    return body


_MEMORY = {"physicalAddress": "physical_address", "physicalAddressMask": "physical_address_mask", "node": "node",
           "card": "card", "moduleRank": "module", "module": "module", "bank": "bank", "device": "device",
           "row": "row", "column": "column", "bitPosition": "bit_position", "cardSmbiosHandle": "card_handle",
           "moduleSmbiosHandle": "module_handle", "memoryErrorType": "memory_error_type"}


def _body(key: Optional[str], s: dict) -> dict:
    if key in ("platform_memory", "platform_memory2"):
        m = s.get("Memory") or s.get("Memory2") or {}
        body = _pick(m, _MEMORY)
        if "rankNumber" in m or "rank" in m:
            body["rank_number" if key == "platform_memory" else "rank"] = _val(m.get("rankNumber", m.get("rank")))
        return _with_bits(key, body)
    if key == "pcie":
        p = s.get("Pcie", {})
        body = {"port_type": _val(p["portType"])} if "portType" in p else {}
        if "deviceID" in p:
            body["device_id"] = _bdf(p["deviceID"], "primaryOrDeviceBusNumber")
        aer = p.get("aerInfo", {}).get("data") if isinstance(p.get("aerInfo"), dict) else None
        if aer:
            body["aer_info"] = base64.b64decode(aer).hex()
        return _with_bits(key, body)
    if key == "pci_component":
        p = s.get("PciComponent", {})
        body = {"id_info": _bdf(p["idInfo"], "busNumber")} if "idInfo" in p else {}
        return _with_bits(key, body)
    if key == "arm":
        a = s.get("ArmProcessor", {})
        body = _pick(a, {"mpidrEl1": "mpidr", "midrEl1": "midr"})
        body["error_info"] = [{"type": _val(e.get("errorType"))} for e in a.get("errorInfo", [])]
        return _with_bits(key, body)
    if key == "ia32x64":
        a = s.get("Ia32x64Processor", {})
        body = _pick(a, {"localAPICID": "lapic_id"})
        body["error_info"] = [{"error_type": e.get("type", {}).get("guid")} for e in a.get("processorErrorInfo", [])]
        lapic = 1 if "lapic_id" in body else 0
        body["validation_bits"] = {"lapic_id": bool(lapic)}
        return body
    if key == "processor_generic":
        return _with_bits(key, _pick(s.get("GenericProcessor", {}), {"processorID": "processor_id",
                                                                       "errorType": "error_type"}))
    if key == "cxl_protocol":
        c = s.get("CxlProtocol", {})
        body = _pick(c, {"agentType": "agent_type", "deviceSerial": "serial_number"})
        addr = c.get("cxlAgentAddress")
        if isinstance(addr, dict) and "value" in addr:
            body["agent_address"] = addr["value"]
        elif isinstance(addr, dict):
            body["agent_address"] = (addr.get("functionNumber", 0) | addr.get("deviceNumber", 0) << 8 |
                                     addr.get("busNumber", 0) << 16 | addr.get("segmentNumber", 0) << 24)
        if {"vendorID", "deviceID"} <= set(c.get("deviceID") or ()):   # libcper may print a partial one
            body["device_id"] = _pick(c["deviceID"], {"vendorID": "vendor_id", "deviceID": "device_id"})
        return _with_bits(key, body)
    if key and key.startswith("cxl_"):
        c = s.get("CxlComponent", {})
        body = {}
        if "deviceID" in c:
            body["device_id"] = _bdf(c["deviceID"], "busNumber")
        if "deviceSerial" in c:
            body["serial_number"] = c["deviceSerial"]
        body["validation_bits"] = ("device_id" in body) | ("serial_number" in body) << 1
        return body
    return {}


def libcper_model(doc: dict, label: str) -> dict:
    """The record model fields that rows.Rows reads, from one libcper JSON record."""
    h = doc["header"]
    descs, secs = doc.get("sectionDescriptors") or [], doc.get("sections") or []
    if not isinstance(descs, list) or not isinstance(secs, list):
        raise DecodeError("libcper JSON: sectionDescriptors/sections are not lists", source=label)
    ts = h.get("timestamp")
    ts = ts.split("+")[0] if isinstance(ts, str) else None
    header = {"validation_bits": {"timestamp": ts is not None, "platform_id": "platformID" in h},
              "timestamp": ts or 0, "error_severity": _sev(h.get("severity")), "record_id": h.get("recordID"),
              "platform_id": h.get("platformID"), "creator_id": h.get("creatorID"),
              "notification_type": (h.get("notificationType") or {}).get("guid")}
    sections = []
    for i, d in enumerate(descs):
        guid = (d.get("sectionType") or {}).get("data", "")
        key = SECTION_KEY_BY_GUID.get(str(guid).lower())
        desc = {"section_type": key or guid, "section_severity": _sev(d.get("severity")),
                "validation_bits": {"fru_id": "fruID" in d, "fru_text": "fruText" in d},
                "fru_id": d.get("fruID"), "fru_text": d.get("fruText")}
        body = _body(key, secs[i]) if i < len(secs) and isinstance(secs[i], dict) else {}
        sections.append({"descriptor": desc, "body": body})
    return {"header": header, "sections": sections}
