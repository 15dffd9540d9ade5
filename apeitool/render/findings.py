"""validate output: a table per severity (plain text when piped), JSON, and the rule list."""
from __future__ import annotations

STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _console(buf, color: bool, width: int = 140):
    from rich.console import Console
    return Console(file=buf, force_terminal=bool(color), color_system="auto" if color else None,
                   width=width, highlight=False)


def text(findings, labels, color: bool) -> str:
    """Findings grouped by severity, worst first: a table on a terminal, one line each when piped
    (grep-able: file, severity, rule, path, offset, message, reference). A summary line per input."""
    import io
    from rich import box
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text
    from ..validate import SEVERITIES
    buf = io.StringIO()
    console = _console(buf, color)
    shown = []
    for label in labels:   # a dump's tables are reported as label[SIG]
        mine = [f.source for f in findings if f.source == label or f.source.startswith(label + "[")]
        shown += [s for s in dict.fromkeys(mine)] or [label]
    several = len(shown) > 1
    for sev in SEVERITIES:
        group = [f for f in findings if f.severity == sev]
        if not group:
            continue
        if not color:
            for f in group:
                where = f"{f.path} @0x{f.offset:X}" if f.offset is not None else (f.path or "-")
                buf.write(f"{f.source}: {sev}: {f.rule}: {where}: {f.message} [{f.reference}]\n")
            continue
        table = Table(title=Text(f"{sev}s ({len(group)})", style=STYLES[sev]), title_justify="left",
                      box=box.SIMPLE_HEAD)
        if several:
            table.add_column("file", overflow="fold")
        for name in ("rule", "path", "offset", "message"):
            table.add_column(name, overflow="fold")
        for f in group:
            offset = "-" if f.offset is None else f"0x{f.offset:X}"
            row = [Text(f.rule, style=STYLES[sev]), f.path or "-", offset,
                   Text.from_markup(f"{escape(f.message)}\n[dim]{escape(f.reference)}[/dim]")]
            table.add_row(*([f.source] if several else []), *row)
        console.print(table)
    for label in shown:
        mine = [f for f in findings if f.source == label]
        counts = ", ".join(f"{sum(1 for f in mine if f.severity == s)} {s}(s)" for s in SEVERITIES)
        console.print(f"{label}: {counts}" if mine else f"{label}: no findings", markup=False)
    return buf.getvalue()


def json_text(findings) -> str:
    from .data import to_json
    return to_json([f.as_dict() for f in findings])


def rule_list(rules, fmt: str) -> str:
    if fmt == "json":
        from .data import to_json
        return to_json([{"rule": r.id, "severity": r.severity, "profile": r.profile, "kinds": list(r.kinds),
                         "title": r.title, "reference": r.reference, "doc": r.doc} for r in rules])
    out = []
    for r in rules:
        out.append(f"{r.id}  [{r.severity}; {r.profile}; {', '.join(r.kinds)}]\n"
                   f"    {r.title}\n    {r.doc}\n    ref: {r.reference}\n")
    return "\n".join(out)
