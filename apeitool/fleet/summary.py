"""`db summary`: what ras-mc-ctl --summary answers, for a fleet. One definition, two engines: SQL on
the SQLite database, and pandas/Dask group-bys on the Parquet dataset; both end in `finish`, which
orders and cuts the groups the same way, so the two answers are equal, not just alike."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

WINDOWS = {"day": 10, "hour": 13, "month": 7}     # prefix of the ISO timestamp that names the window
COMPONENT_KINDS = ("memory", "pcie", "pci", "cpu", "cxl")


@dataclass
class Filters:
    since: Optional[str] = None     # ISO text, compared as text (the timestamps are ISO text)
    until: Optional[str] = None
    host: Optional[str] = None
    window: str = "day"
    top: int = 10


def _where(f: Filters):
    clauses, args = [], []
    if f.since:
        clauses.append("timestamp >= ?")
        args.append(f.since)
    if f.until:
        clauses.append("timestamp <= ?")
        args.append(f.until)
    if f.host:
        clauses.append("host = ?")
        args.append(f.host)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def sql_summary(conn, f: Filters) -> dict:
    where, args = _where(f)
    q = lambda sql: conn.execute(sql, args).fetchall()      # noqa: E731
    n = WINDOWS[f.window]
    totals = q(f"SELECT count(*), count(DISTINCT host), min(timestamp), max(timestamp) FROM records{where}")[0]
    sections = q(f"SELECT count(*) FROM sections{where}")[0][0]
    by_sev = q(f"SELECT severity, count(*) FROM records{where} GROUP BY severity")
    by_type = q(f"SELECT section_type, severity, count(*) FROM sections{where} GROUP BY section_type, severity")
    comp_where = (where + " AND" if where else " WHERE") + " component IS NOT NULL"
    comps = q(f"SELECT component_kind, component, count(*), count(DISTINCT host), min(timestamp), max(timestamp) "
              f"FROM sections{comp_where} GROUP BY component_kind, component")
    timeline = q(f"SELECT substr(timestamp, 1, {n}), count(*) FROM records{where} GROUP BY 1")
    return finish(totals, sections, by_sev, by_type, comps, timeline, f)


def frame_summary(records, sections, f: Filters) -> dict:
    """The same summary from two data frames (pandas or dask.dataframe) with rows.TABLES' columns."""
    def filt(df):
        if f.since:
            df = df[df["timestamp"] >= f.since]
        if f.until:
            df = df[df["timestamp"] <= f.until]
        if f.host:
            df = df[df["host"] == f.host]
        return df

    def nrows(df):
        return df.map_partitions(len).sum() if hasattr(df, "npartitions") else len(df)

    r, s = filt(records[["host", "timestamp", "severity"]]), filt(sections)
    r = r.assign(window=r["timestamp"].str.slice(0, WINDOWS[f.window]))
    g = s[s["component"].notnull()].groupby(["component_kind", "component"])
    parts = (nrows(r), r["host"].nunique(), r["timestamp"].min(), r["timestamp"].max(), nrows(s),
             r.groupby("severity", dropna=False).size(), s.groupby(["section_type", "severity"], dropna=False).size(),
             g.size(), g["host"].nunique(), g["timestamp"].min(), g["timestamp"].max(),
             r.groupby("window", dropna=False).size())
    if hasattr(r, "npartitions"):      # one pass over the dataset for every figure, not one each
        import dask
        parts = dask.compute(*parts)
    total, hosts, first, last, n_sections, by_sev, by_type, size, c_hosts, c_first, c_last, timeline = parts
    comps = [(k[0], k[1], int(count), int(c_hosts[k]), _none(c_first[k]), _none(c_last[k]))
             for k, count in size.items()]
    return finish((total, hosts, _none(first), _none(last)), n_sections, _groups(by_sev), _groups(by_type), comps,
                  _groups(timeline), f)


def _none(v):
    try:
        import pandas as pd
        if v is None or pd.isna(v):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    return v


def _groups(series) -> list:
    out = []
    for k, v in series.items():
        k = tuple(_none(x) for x in k) if isinstance(k, tuple) else (_none(k),)
        out.append((*k, int(v)))
    return out


def _order(rows: list, count_at: int) -> list:
    """Biggest count first, ties by the group's names (None last): the same in every engine."""
    return sorted(rows, key=lambda r: (-r[count_at], [(x is None, x if x is not None else "") for x in r[:count_at]]))


def finish(totals, sections, by_sev, by_type, comps, timeline, f: Filters) -> dict:
    components: Dict[str, List[dict]] = {}
    for kind in COMPONENT_KINDS:
        mine = _order([c[1:] for c in comps if c[0] == kind], 1)
        components[kind] = [{"component": c[0], "errors": int(c[1]), "hosts": int(c[2]), "first": c[3],
                             "last": c[4]} for c in mine[:f.top]]
    return {
        "filters": {"since": f.since, "until": f.until, "host": f.host},
        "records": int(totals[0]), "sections": int(sections), "hosts": int(totals[1]),
        "first": totals[2], "last": totals[3],
        "by_severity": [{"severity": s, "records": int(n)} for s, n in _order(list(by_sev), 1)],
        "by_section_type": [{"section_type": t, "severity": s, "sections": int(n)}
                            for t, s, n in _order(list(by_type), 2)],
        "top_components": components,
        "window": f.window,
        "timeline": [{"window": w, "records": int(n)} for w, n in sorted(timeline, key=lambda r: (r[0] is None, r[0] or ""))],
    }


_TITLES = {"memory": "Memory (DIMM location)", "pcie": "PCIe devices (segment:bus:device.function)",
           "pci": "PCI devices", "cpu": "Processors", "cxl": "CXL devices"}


def render_text(s: dict) -> str:
    """ras-mc-ctl --summary's shape: one heading per kind, one tab-indented line per group."""
    out = []
    span = f", {s['first']} .. {s['last']}" if s["first"] else ""
    out.append(f"{s['records']} records, {s['sections']} sections from {s['hosts']} host(s){span}")
    flt = ", ".join(f"{k} {v}" for k, v in s["filters"].items() if v)
    if flt:
        out.append(f"(only {flt})")
    out.append("")
    out.append("Records by severity:")
    out += [f"\t{g['records']} {g['severity'] or 'unknown'}" for g in s["by_severity"]] or ["\tnone"]
    out.append("")
    out.append("Sections by type:")
    out += [f"\t{g['sections']} {g['section_type']} ({g['severity'] or 'unknown'})" for g in s["by_section_type"]] \
        or ["\tnone"]
    for kind, groups in s["top_components"].items():
        if not groups:
            continue
        out.append("")
        out.append(f"{_TITLES[kind]}, top {len(groups)}:")
        for g in groups:
            when = f", {g['first']} .. {g['last']}" if g["first"] else ""
            out.append(f"\t{g['component']}: {g['errors']} errors on {g['hosts']} host(s){when}")
    out.append("")
    out.append(f"Records per {s['window']}:")
    out += [f"\t{g['window'] or 'no timestamp'}: {g['records']}" for g in s["timeline"]] or ["\tnone"]
    return "\n".join(out) + "\n"
