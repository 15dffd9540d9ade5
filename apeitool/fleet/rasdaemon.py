"""rasdaemon's SQLite database (ras-mc_event.db): written from replay's trace events, read by ingest.

The tables are rasdaemon's own (ras-record.c). "0.6.8" is Debian 12's build exactly as its
rasdaemon creates them (mc_event, aer_event, extlog_event, mce_record; ras-mc-ctl --summary/--errors
queries all four), plus the 0.6.8 source's arm_event and non_standard_event for the events ghes.c
sends there. "0.8" is the newest layout: arm_event gained the raw error/context/vendor blobs and
the decoded first error (v0.8.0).

What ghes.c hands rasdaemon, per section (ghes_do_proc), as replay models it:
  memory  -> ras:mc_event through ghes_edac, when the machine has it (arm64; on x86 only allow-listed
             platforms; Debian builds it as a module)
  PCIe    -> ras:aer_event from aer_recover_work_func, when the device exists (assumed)
  ARM     -> ras:arm_event (log_arm_hw_error)
  other   -> ras:non_standard_event (sec_type and fru_id as 16 raw bytes, the payload); CXL sections
             too, before the kernel hands them to the CXL driver
Checked: `apeitool vm run --rasdaemon-db` runs Debian's rasdaemon in guests of Debian's 5.10, 6.1,
6.12 and 7.2 and compares its rows and the kernel's trace lines with these (tests/test_vm.py).
Not written: mce_record (x86 turns a memory error into a synthetic MCE that rasdaemon decodes per CPU
model) and memory_failure_event (its action_result is the page's fate, which no record carries).
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from typing import Dict, List, Optional

from ..errors import InputError
from ..render.kernel import s32

INT, TEXT, BLOB, PK = "INTEGER", "TEXT", "BLOB", "INTEGER PRIMARY KEY"
_ARM_068 = [("id", PK), ("timestamp", TEXT), ("error_count", INT), ("affinity", INT), ("mpidr", INT),
            ("running_state", INT), ("psci_state", INT)]
TABLES_068: Dict[str, List] = {
    "mc_event": [("id", PK), ("timestamp", TEXT), ("err_count", INT), ("err_type", TEXT), ("err_msg", TEXT),
                 ("label", TEXT), ("mc", INT), ("top_layer", INT), ("middle_layer", INT), ("lower_layer", INT),
                 ("address", INT), ("grain", INT), ("syndrome", INT), ("driver_detail", TEXT)],
    "aer_event": [("id", PK), ("timestamp", TEXT), ("dev_name", TEXT), ("err_type", TEXT), ("err_msg", TEXT)],
    "extlog_event": [("id", PK), ("timestamp", TEXT), ("etype", INT), ("error_count", INT), ("severity", INT),
                     ("address", INT), ("fru_id", BLOB), ("fru_text", TEXT), ("cper_data", BLOB)],
    "mce_record": [("id", PK), ("timestamp", TEXT)] + [(c, INT) for c in (
        "mcgcap", "mcgstatus", "status", "addr", "misc", "ip", "tsc", "walltime", "cpu", "cpuid", "apicid",
        "socketid", "cs", "bank", "cpuvendor")] + [(c, TEXT) for c in (
        "bank_name", "error_msg", "mcgstatus_msg", "mcistatus_msg", "mcastatus_msg", "user_action", "mc_location")],
    "arm_event": _ARM_068,
    "non_standard_event": [("id", PK), ("timestamp", TEXT), ("sec_type", BLOB), ("fru_id", BLOB),
                           ("fru_text", TEXT), ("severity", TEXT), ("error", BLOB)],
}
TABLES_08 = dict(TABLES_068, arm_event=_ARM_068 + [
    ("err_info", BLOB), ("context_info", BLOB), ("vendor_info", BLOB), ("error_type", TEXT),
    ("error_flags", TEXT), ("error_info", INT), ("virt_fault_addr", INT), ("phy_fault_addr", INT)])
SCHEMAS = {"0.6.8": TABLES_068, "0.8": TABLES_08}

# ras-mc-handler.c / ras-aer-handler.c / ras-non-standard-handler.c (0.6.8): the text rasdaemon
# stores; checked against Debian's rasdaemon recording in a vm guest (vm/rasdaemon.py)
MC_TYPES = {"corrected": "Corrected", "recoverable": "Uncorrected", "fatal": "Fatal"}
AER_TYPES = {"AER_CORRECTABLE": "Corrected", "AER_NONFATAL": "Uncorrected (Non-Fatal)",
             "AER_FATAL": "Uncorrected (Fatal)"}
AER_COR = {0: "Receiver Error", 6: "Bad TLP", 7: "Bad DLLP", 8: "RELAY_NUM Rollover", 12: "Replay Timer Timeout",
           13: "Advisory Non-Fatal"}
AER_UNCOR = {4: "Data Link Protocol", 12: "Poisoned TLP", 13: "Flow Control Protocol", 14: "Completion Timeout",
             15: "Completer Abort", 16: "Unexpected Completion", 17: "Receiver Overflow", 18: "Malformed TLP",
             19: "ECRC", 20: "Unsupported Request"}
GHES_SEVERITY_NAMES = {0: "Informational", 1: "Corrected", 2: "Recoverable", 3: "Fatal"}   # by GHES severity


def has_ghes_edac(arch: str) -> bool:
    """Whether a machine of `arch` has ghes_edac by default: arm64 loads it; x86 only on allow-listed
    platforms (and Debian builds it as a module, absent from the vm guests)."""
    return arch == "arm64"


def _s64(v: Optional[int]) -> Optional[int]:
    """rasdaemon binds u64 values with sqlite3_bind_int64: they are stored as signed."""
    if v is None:
        return None
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >> 63 else v


def ddl(schema: str) -> List[str]:
    return [f"CREATE TABLE IF NOT EXISTS {t} ({', '.join(f'{c} {ty}' for c, ty in cols)})"
            for t, cols in SCHEMAS[schema].items()]


def _bits(value: int, names: dict) -> str:
    """rasdaemon's bitfield message: each set bit's name, or BIT<n> for a bit it has no name for."""
    return ", ".join(names.get(bit, f"BIT{bit}") for bit in range(32) if value >> bit & 1)


class Writer:
    """Collects trace events during a replay and writes them as rasdaemon would (write_to: a temporary
    file beside the target, renamed over it at the end)."""

    def __init__(self, path: str, schema: str = "0.6.8", start: float = 0.0, ghes_edac: bool = True):
        if schema not in SCHEMAS:
            raise InputError(f"unknown rasdaemon schema {schema!r} (known: {', '.join(SCHEMAS)})")
        self.path, self.schema, self.start, self.ghes_edac = path, schema, start, ghes_edac
        self.rows: Dict[str, list] = {t: [] for t in SCHEMAS[schema]}

    def when(self, now: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(self.start + now))

    def __call__(self, event: str, now: float, **f) -> None:
        getattr(self, "_" + event)(self.when(now), **f)

    def _mc_event(self, ts, severity: str, body: dict, location: str) -> None:
        if not self.ghes_edac:
            return
        from ..schemas.sections import MEMORY_ERROR_TYPES
        vb = body.get("validation_bits", 0) if isinstance(body.get("validation_bits"), int) else 0
        msg = MEMORY_ERROR_TYPES.get(body.get("memory_error_type"), "unknown") if vb & 0x4000 else "unknown error"
        pa = body.get("physical_address", 0) if vb & 0x2 else 0
        grain = 1
        if vb & 0x4:
            grain = (~body.get("physical_address_mask", 0) + 1) & 0xFFFFFFFFFFFFFFFF or 1
        grain = 1 << max(grain - 1, 0).bit_length()          # the tracepoint carries grain_bits
        self.rows["mc_event"].append((ts, 1, MC_TYPES.get(severity, "Info"), msg, "unknown memory", 0, -1, -1, -1,
                                      _s64(pa), _s64(grain), 0, f"APEI location: {location}".rstrip()))

    def _aer_event(self, ts, dev_name: str, severity: str, status: int, tlp=None) -> None:
        names = AER_COR if severity == "AER_CORRECTABLE" else AER_UNCOR
        msg = _bits(status, names)
        if tlp:
            msg += " TLP Header: " + " ".join(f"{d:08x}" for d in tlp[:4])
        self.rows["aer_event"].append((ts, dev_name, AER_TYPES[severity], msg))

    def _arm_event(self, ts, body: dict, payload: bytes = b"", ghes_severity: int = 0) -> None:
        vb = body.get("validation_bits", 0) if isinstance(body.get("validation_bits"), int) else 0
        # what the tracepoint carries: ~0 for a field whose validation bit is clear
        row = [ts, 0 if self.schema == "0.6.8" else body.get("error_info_num", 0),
               body.get("error_affinity_level", 0) if vb & 2 else 255,
               _s64(body.get("mpidr", 0) if vb & 1 else 0),
               s32(body.get("running_state", 0)) if vb & 4 else -1, s32(body.get("psci_state", 0)) if vb & 4 else -1]
        if self.schema == "0.8":
            info = (body.get("error_info") or [{}])[0]
            row += [None, None, None, str(info.get("type", "")), None, _s64(info.get("error_info")),
                    _s64(info.get("virtual_fault_address")), _s64(info.get("physical_fault_address"))]
        self.rows["arm_event"].append(tuple(row))

    def _non_standard_event(self, ts, sec_type: bytes, fru_id: bytes, fru_text: str, ghes_severity: int,
                            payload: bytes) -> None:
        self.rows["non_standard_event"].append((ts, sec_type, fru_id, fru_text,
                                                GHES_SEVERITY_NAMES.get(ghes_severity, "Unknown"), payload))

    def events(self) -> Dict[str, list]:
        """The rows as read_events gives them (no id, no timestamp), per table written."""
        return {t: [_plain(r[1:]) for r in rows] for t, rows in self.rows.items() if rows}

    def counts(self) -> Dict[str, int]:
        return {t: len(r) for t, r in self.rows.items() if r}

    def write(self) -> None:
        """Write the database (replacing the file whole); a failure is a one-line InputError."""
        try:
            self._write()
        except (OSError, sqlite3.Error) as e:
            raise InputError(f"cannot write the rasdaemon database: {e}", source=self.path) from None

    def _write(self) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".rasdaemon-", suffix=".db", dir=folder)
        os.close(fd)
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            conn.execute("BEGIN")
            for stmt in ddl(self.schema):
                conn.execute(stmt)
            for table, rows in self.rows.items():
                if rows:
                    cols = [c for c, _ in SCHEMAS[self.schema][table]][1:]
                    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                                     f"({', '.join('?' * len(cols))})", rows)
            conn.execute("COMMIT")
            conn.close()
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def _plain(row) -> list:
    return [v.hex() if isinstance(v, bytes) else v for v in row]


def read_events(path: str, tables=("mc_event", "aer_event", "arm_event", "non_standard_event")) -> Dict[str, list]:
    """A rasdaemon database's GHES event rows, in id order, without id and timestamp (for comparing
    two runs); blobs as hex."""
    conn = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True)
    try:
        have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        out = {}
        for t in tables:
            if t in have:
                rows = conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
                out[t] = [_plain(r[2:]) for r in rows]
        return out
    finally:
        conn.close()


# -- reading a fleet host's rasdaemon database -----------------------------------------------------------

def is_rasdaemon_db(conn) -> bool:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return "mc_event" in names and "apeitool_meta" not in names


def rows_from_db(path: str, host: Optional[str]):
    """A rasdaemon database as fleet rows: each event one record (form 'rasdaemon') with one section,
    keyed by the hash of its table and values (re-ingesting the same database is a no-op)."""
    from ..render.jsonenc import compact
    from .rows import Rows, item_key
    try:
        conn = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True)
        if not is_rasdaemon_db(conn):
            raise InputError("an SQLite database that is neither rasdaemon's (no mc_event table) nor "
                             "CPER records (apeitool's own database is queried, not ingested)", source=path)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows = Rows()
        for table in ("mc_event", "aer_event", "arm_event", "non_standard_event", "extlog_event", "mce_record"):
            if table not in tables:
                continue
            cur = conn.execute(f"SELECT * FROM {table} ORDER BY id")
            cols = [d[0] for d in cur.description]
            for values in cur:
                ev = dict(zip(cols, values))
                shown = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in ev.items()}
                text = compact({"rasdaemon": table, **shown})
                _event_rows(rows, table, ev, host, path, item_key(text), text.decode())
        conn.close()
    except sqlite3.DatabaseError as e:
        raise InputError(f"cannot read the rasdaemon database: {e}", source=path) from None
    return rows


def _ts(text) -> Optional[str]:
    """rasdaemon's '2026-12-05 10:00:00 +0000' as ISO text (the offset applied)."""
    if not isinstance(text, str) or len(text) < 19:
        return None
    import datetime
    try:
        t = datetime.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        try:
            t = datetime.datetime.strptime(text.strip()[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
    else:
        t = t.astimezone(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S")


_MC_SEV = {"Corrected": "corrected", "Uncorrected": "recoverable", "Fatal": "fatal", "Info": "informational",
           "Deferred": "recoverable"}
_AER_SEV = {"Corrected": "corrected", "Uncorrected (Non-Fatal)": "recoverable", "Uncorrected (Fatal)": "fatal"}


def _event_rows(rows, table, ev, host, path, key, text) -> None:
    from .rows import hex64
    ts = _ts(ev.get("timestamp"))
    day = ts[:10] if ts else None
    kind = component = etype = None
    sev, stype = None, table
    t = rows.tables
    if table == "mc_event":
        sev, stype = _MC_SEV.get(ev.get("err_type")), "platform_memory"
        label = ev.get("label")
        layers = [ev.get(k) for k in ("mc", "top_layer", "middle_layer", "lower_layer")]
        dimm = label if label and label not in ("unknown memory", "any memory", "unknown label") else \
            "location " + ":".join(str(x) for x in layers)
        etype = ev.get("err_msg")
        t["memory_errors"].append((key, 0, hex64(ev.get("address")), None, None, None, None, None, None, None,
                                   None, None, None, None, None, etype, dimm))
        kind, component = "memory", dimm
    elif table == "aer_event":
        sev, stype = _AER_SEV.get(ev.get("err_type")), "pcie"
        bdf = ev.get("dev_name")
        t["pcie_errors"].append((key, 0, bdf, None, None, None, None, None, None, None, None, None, None))
        kind, component, etype = "pcie", bdf, ev.get("err_msg")
    elif table == "arm_event":
        stype = "arm"
        cpu = hex64(ev.get("mpidr"))
        etype = ev.get("error_type")
        t["processor_errors"].append((key, 0, "arm", cpu, None, etype))
        kind, component = "cpu", f"arm {cpu}"
    elif table == "non_standard_event":
        from ..schemas.cper_fields import guid_str
        from ..guids import SECTION_KEY_BY_GUID
        raw = ev.get("sec_type")
        guid = guid_str(raw) if isinstance(raw, bytes) and len(raw) == 16 else str(raw)
        stype = SECTION_KEY_BY_GUID.get(guid, guid)
        sev = {"Informational": "informational", "Corrected": "corrected", "Recoverable": "recoverable",
               "Fatal": "fatal"}.get(ev.get("severity"))
    elif table == "mce_record":
        stype, etype = "mce", ev.get("error_msg")
        cpu = hex64(ev.get("apicid"))
        t["processor_errors"].append((key, 0, "mce", cpu, None, etype))
        kind, component = "cpu", f"mce {cpu}"
    t["records"].append((key, host, path, ev.get("id"), ev.get("id"), "rasdaemon:" + table, None, ts, day, sev, 1,
                         None, None, None, text))
    t["sections"].append((key, 0, host, ts, day, stype, sev, None, ev.get("fru_text"), kind, component, etype))
