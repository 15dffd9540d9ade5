"""Decoded CPER items as flat rows: the one table layout shared by the SQLite database, the Parquet
dataset and the Dask frames, so that every engine answers from the same columns.

One item (a CPER record, an error status block or a descriptor+body section) gives one `records`
row and one `sections` row per section; memory, PCIe, processor and CXL sections also give one row
in their typed table. Fields gated by a validation bit are NULL when the bit is clear. 64-bit
identities and addresses are zero-padded hex text ('0x00000000dead0000'): SQLite integers are
signed 64-bit, and padded hex sorts and compares like the number it spells. Derived columns
(`component`, `day`) are computed here, once, so a summary is a plain GROUP BY in every engine.
"""
from __future__ import annotations

import hashlib
from typing import Dict, List, Optional, Tuple

from ..guids import IA32X64_CHECK_TYPES
from ..render.jsonenc import compact
from ..render.kernel import cxl_agent_name, pci_name
from ..schemas.cper import SEVERITIES
from ..schemas.cper_fields import Timestamp
from ..schemas.sections import BODIES, MEMORY_ERROR_TYPES, PCIE_PORT_TYPES

# table -> [(column, "text"|"int")]; the first columns of every section table name its section
SECTION_KEY = [("key", "text"), ("idx", "int")]
TABLES: Dict[str, List[Tuple[str, str]]] = {
    "records": [("key", "text"), ("host", "text"), ("source", "text"), ("offset", "int"), ("item", "int"),
                ("form", "text"), ("record_id", "text"), ("timestamp", "text"), ("day", "text"),
                ("severity", "text"), ("section_count", "int"), ("platform_id", "text"),
                ("creator_id", "text"), ("notification_type", "text"), ("model", "text")],
    "sections": SECTION_KEY + [("host", "text"), ("timestamp", "text"), ("day", "text"),
                               ("section_type", "text"), ("severity", "text"), ("fru_id", "text"),
                               ("fru_text", "text"), ("component_kind", "text"), ("component", "text"),
                               ("error_type", "text")],
    "memory_errors": SECTION_KEY + [("physical_address", "text"), ("physical_address_mask", "text"),
                                    ("node", "int"), ("card", "int"), ("module", "int"), ("bank", "int"),
                                    ("device", "int"), ("row", "int"), ("column", "int"), ("rank", "int"),
                                    ("bit_position", "int"), ("card_handle", "int"), ("module_handle", "int"),
                                    ("error_type", "text"), ("dimm", "text")],
    "pcie_errors": SECTION_KEY + [("bdf", "text"), ("segment", "int"), ("bus", "int"), ("device", "int"),
                                  ("function", "int"), ("vendor_id", "int"), ("device_id", "int"),
                                  ("class_code", "int"), ("port_type", "text"), ("uncorrectable_status", "int"),
                                  ("correctable_status", "int")],
    "processor_errors": SECTION_KEY + [("kind", "text"), ("cpu", "text"), ("midr", "text"),
                                       ("error_type", "text")],
    "cxl_errors": SECTION_KEY + [("event_type", "text"), ("device", "text"), ("vendor_id", "int"),
                                 ("device_id", "int"), ("serial_number", "text")],
}
SECTION_TABLES = ("memory_errors", "pcie_errors", "processor_errors", "cxl_errors")
COLUMNS = {t: [c for c, _ in cols] for t, cols in TABLES.items()}


def hex64(value) -> Optional[str]:
    return None if value is None else f"0x{value & 0xFFFFFFFFFFFFFFFF:016x}"


def item_key(raw: bytes) -> str:
    """The content hash that makes re-ingesting a record a no-op."""
    return hashlib.sha256(raw).hexdigest()[:32]


def _iso(ts, valid: bool) -> Optional[str]:
    if not valid:
        return None
    iso = Timestamp.iso(ts)
    return iso[0] if iso else None


def _sev(value) -> Optional[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return SEVERITIES.get(value, f"severity {value}")
    return None


def _flag(bits, name: str) -> bool:
    return isinstance(bits, dict) and bool(bits.get(name))


_GATES: Dict[str, Dict[str, int]] = {}


def _gates(key: str) -> Dict[str, int]:
    """field -> validation bit of a section's fixed head (once per section type)."""
    g = _GATES.get(key)
    if g is None:
        b = BODIES.get(key)
        g = _GATES[key] = dict(b.layout.valid_bits) if b is not None and b.layout.valid_field else {}
    return g


def _getter(key: str, body: dict):
    """get(name): the body's field, or None when its validation bit is clear."""
    bits = body.get("validation_bits")
    gates = _gates(key)
    if isinstance(bits, dict):                       # bit-field form (IA32/X64): the flag by name
        return lambda name: body.get(name) if bits.get(name, name in body) else None
    bits = bits if isinstance(bits, int) else 0
    return lambda name: body.get(name) if name not in gates or bits >> gates[name] & 1 else None


class Rows:
    """Rows of many items, table by table (lists of tuples in COLUMNS order)."""

    def __init__(self):
        self.tables: Dict[str, list] = {t: [] for t in TABLES}

    def __len__(self):
        return len(self.tables["records"])

    def extend(self, other: "Rows") -> None:
        for t, rows in other.tables.items():
            self.tables[t].extend(rows)

    def add_item(self, model: dict, raw: bytes, form: str, host: Optional[str], source: str, offset: int,
                 item: int, model_text: Optional[str] = None) -> str:
        """One item's rows; `model_text` is what the records row keeps (default: the model's JSON)."""
        key = item_key(raw)
        if form == "record":
            h = model["header"]
            vb = h.get("validation_bits", {})
            ts = _iso(h.get("timestamp"), _flag(vb, "timestamp"))
            sev = _sev(h.get("error_severity"))
            rid, plat = hex64(h.get("record_id")), h.get("platform_id") if _flag(vb, "platform_id") else None
            creator, notify = h.get("creator_id"), h.get("notification_type")
            sections = [(s["descriptor"], s.get("body", {})) for s in model.get("sections", [])]
        elif form == "estatus":
            ts, sev, rid, plat, creator, notify = None, _sev(model.get("error_severity")), None, None, None, None
            sections = [(e, e.get("body", {})) for e in model.get("entries", [])]
            for d, _b in sections:      # a block has no header time: its first timed entry's
                ts = ts or _iso(d.get("timestamp"), _flag(d.get("validation_bits"), "timestamp"))
        else:
            d = model["descriptor"]
            ts, rid, plat, creator, notify = None, None, None, None, None
            sev = _sev(d.get("section_severity"))
            sections = [(d, model.get("body", {}))]
        day = ts[:10] if ts else None
        self.tables["records"].append((key, host, source, offset, item, form, rid, ts, day, sev, len(sections),
                                       plat, creator, notify, model_text or compact(model).decode()))
        for idx, (d, body) in enumerate(sections):
            self._section(key, idx, d, body if isinstance(body, dict) else {}, host, ts, day)
        return key

    def _section(self, key, idx, d, body, host, ts, day) -> None:
        stype = d.get("section_type")
        vb = d.get("validation_bits")
        sev = _sev(d.get("section_severity", d.get("error_severity")))
        fru_id = d.get("fru_id") if _flag(vb, "fru_id") else None
        fru_text = d.get("fru_text") if _flag(vb, "fru_text") else None
        kind = component = etype = None
        if "data" not in body or len(body) > 1:          # {"data": hex}: a body that did not decode
            typed = _TYPED.get(stype)
            if typed is not None:
                kind, component, etype = typed(self, key, idx, stype, body)
        self.tables["sections"].append((key, idx, host, ts, day, stype, sev, fru_id, fru_text, kind, component,
                                        etype))

    # -- typed tables: (component kind, component, error type) ------------------------------------------
    def _memory(self, key, idx, stype, body):
        g = _getter(stype, body)
        etype = g("memory_error_type")
        etype = None if etype is None else MEMORY_ERROR_TYPES.get(etype, f"type {etype}")
        where = [f"{n} {g(n)}" for n in ("node", "card", "module") if g(n) is not None]
        if g("module_handle") is not None:
            where.append(f"handle 0x{g('module_handle'):04x}")
        dimm = " ".join(where) or None
        rank = g("rank_number") if stype == "platform_memory" else g("rank")
        self.tables["memory_errors"].append((key, idx, hex64(g("physical_address")), hex64(g("physical_address_mask")),
                                             g("node"), g("card"), g("module"), g("bank"), g("device"), g("row"),
                                             g("column"), rank, g("bit_position"), g("card_handle"),
                                             g("module_handle"), etype, dimm))
        return "memory", dimm, etype

    def _pcie(self, key, idx, stype, body):
        g = _getter(stype, body)
        dev = g("device_id") or {}
        bdf = pci_name(dev["segment"], dev["primary_bus"], dev["device"], dev["function"]) if dev else None
        port = g("port_type")
        port = None if port is None else PCIE_PORT_TYPES.get(port, f"type {port}")
        uncor = cor = None
        aer = g("aer_info")
        if isinstance(aer, str) and len(aer) >= 40:   # PCIe AER capability: status words at 0x04, 0x10
            raw = bytes.fromhex(aer)
            uncor, cor = int.from_bytes(raw[4:8], "little"), int.from_bytes(raw[16:20], "little")
        self.tables["pcie_errors"].append((key, idx, bdf, dev.get("segment"), dev.get("primary_bus"),
                                           dev.get("device"), dev.get("function"), dev.get("vendor_id"),
                                           dev.get("device_id"), dev.get("class_code"), port, uncor, cor))
        etype = "uncorrectable" if uncor else "correctable" if cor else None
        return "pcie", bdf, etype

    def _pci_component(self, key, idx, stype, body):
        dev = _getter(stype, body)("id_info") or {}
        return "pci", pci_name(dev["segment"], dev["bus"], dev["device"], dev["function"]) if dev else None, None

    def _processor(self, key, idx, stype, body):
        g = _getter(stype, body)
        if stype == "arm":
            cpu, midr = hex64(g("mpidr")), hex64(body.get("midr"))
            names = []        # UEFI 2.10 N.2.4.4.1: the type is a bit mask (bit 1 cache ... bit 4)
            for info in body.get("error_info", []):
                t = info.get("type") if isinstance(info.get("type"), int) else 0
                names.extend(n for k, n in enumerate(_ERROR_KINDS) if t >> (k + 1) & 1)
            etype = ",".join(dict.fromkeys(names)) or None
        elif stype == "ia32x64":
            cpu, midr = hex64(g("lapic_id")), None
            names = [_IA32_TYPES.get(i.get("error_type"), "other") for i in body.get("error_info", [])]
            etype = ",".join(dict.fromkeys(names)) or None
        else:
            cpu, midr = hex64(g("processor_id")), None
            bits = g("error_type")
            etype = None if bits is None else ",".join(
                n for k, n in enumerate(_ERROR_KINDS) if bits >> k & 1) or None
        self.tables["processor_errors"].append((key, idx, stype, cpu, midr, etype))
        return "cpu", None if cpu is None else f"{stype} {cpu}", etype

    def _cxl(self, key, idx, stype, body):
        g = _getter(stype, body)
        dev = g("device_id")
        dev = dev if isinstance(dev, dict) else {}
        device = None
        if stype == "cxl_protocol":
            addr = g("agent_address")
            if addr is not None:             # agent type 1: an RCH downstream port's RCRB base
                device = f"rcrb {hex64(addr)}" if body.get("agent_type") == 1 else cxl_agent_name(addr)
        elif dev:
            device = pci_name(dev["segment"], dev["bus"], dev["device"], dev["function"])
        self.tables["cxl_errors"].append((key, idx, stype, device, dev.get("vendor_id"), dev.get("device_id"),
                                          hex64(g("serial_number"))))
        return "cxl", device, stype


_ERROR_KINDS = ("cache", "tlb", "bus", "micro-architectural")
_IA32_TYPES = {guid: name for name, (guid, _title) in IA32X64_CHECK_TYPES.items()}
_TYPED = {"platform_memory": Rows._memory, "platform_memory2": Rows._memory, "pcie": Rows._pcie,
          "pci_component": Rows._pci_component, "processor_generic": Rows._processor, "ia32x64": Rows._processor,
          "arm": Rows._processor, **{k: Rows._cxl for k in (
              "cxl_protocol", "cxl_general_media", "cxl_dram", "cxl_memory_module", "cxl_physical_switch",
              "cxl_virtual_switch", "cxl_mld_port")}}


def window_rows(data: bytes, form: str, label: str, base: int, first: int, host: Optional[str],
                source: Optional[str] = None) -> Tuple[Rows, List[str]]:
    """Rows of one window of a CPER file (a whole small file is one window); warnings as lines.
    Runs in Dask workers too: everything it needs is in its arguments."""
    from ..cper import iter_items
    rows, warnings = Rows(), []
    for model, ws, pos, length in iter_items(data, form, label, base, first):
        rows.add_item(model, data[pos:pos + length], form, host, source or label, base + pos,
                      first + len(rows))
        warnings.extend(w.one_line() for w in ws)
    return rows, warnings
