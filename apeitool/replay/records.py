"""What the OS side needs from a status block, computed once per distinct block: error streams
repeat the same bytes, so the checks and the section walk are remembered (bounded)."""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Tuple

from ..cper.estatus import BLOCK_HEADER, decode_block, entry_layout, estatus_check
from ..guids import SECTION_KEY_BY_GUID
from ..schemas.cper import SEVERITIES

LIMIT = 4096
_SEV_INT = {v: k for k, v in SEVERITIES.items()}
_checked: Dict[bytes, bool] = {}
_plans: Dict[bytes, "Plan"] = {}


class Section(NamedTuple):
    key: str                 # section model key, or the GUID text of unknown types
    severity: int            # raw CPER severity of the entry
    flags: dict
    body: dict
    data_length: int
    payload: bytes           # the section's bytes as firmware wrote them (what the trace events carry)


class Plan(NamedTuple):
    block: dict              # the decoded block (for printing)
    sections: Tuple[Section, ...]


def _remember(table: dict, key: bytes, value):
    if len(table) >= LIMIT:
        table.clear()
    table[key] = value
    return value


def estatus_ok(data: bytes) -> bool:
    """cper_estatus_check, remembered per distinct block."""
    ok = _checked.get(data)
    if ok is None:
        ok = _remember(_checked, bytes(data), estatus_check(data))
    return ok


def sev_int(value) -> int:
    return value if isinstance(value, int) else _SEV_INT.get(value, 4)


def plan(data: bytes) -> Plan:
    """The block decoded and its sections as ghes_do_proc walks them, remembered per distinct block."""
    p = _plans.get(data)
    if p is None:
        block, _w, _n = decode_block(data)
        sections: List[Section] = []
        pos = BLOCK_HEADER      # entries follow one another, as decode_block walked them
        for entry in block["entries"]:
            stype = entry["section_type"]
            key = stype if not isinstance(stype, str) or "-" not in stype else SECTION_KEY_BY_GUID.get(stype, stype)
            at, n = pos + entry_layout(entry["revision"]).size, entry.get("error_data_length", 0)
            sections.append(Section(key, sev_int(entry["error_severity"]), entry.get("flags") or {},
                                    entry.get("body") or {}, n, bytes(data[at:at + n])))
            pos = at + n
        p = _remember(_plans, bytes(data), Plan(block, tuple(sections)))
    return p


