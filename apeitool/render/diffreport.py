"""diff output: a coloured report (plain when piped), JSON, and the --stat summary."""
from __future__ import annotations

from rich.markup import escape

MARKS = {"changed": ("~", "yellow"), "added": ("+", "green"), "removed": ("-", "red")}


def show(value) -> str:
    """A value as the report prints it: enum names as they are, big numbers in hex."""
    from ..diff import summary
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if 0 <= value < 0x10000 else f"0x{value:X}"
    if isinstance(value, str):
        return value if value else "''"
    return summary(value)


def _at(offset) -> str:
    return "-" if offset is None else f"0x{offset:X}"


def change_line(c) -> str:
    mark, style = MARKS[c.kind]
    path = c.path
    if c.kind == "changed" and c.path_b and c.path_b != c.path:
        path += f" (B: {c.path_b})"
    if c.kind == "changed":
        what = f"{show(c.a)} → {show(c.b)}"
    else:
        what = show(c.a if c.kind == "removed" else c.b)
    where = f"A@{_at(c.offset_a)} B@{_at(c.offset_b)}"
    return f"[{style}]{mark} {escape(path)}: {escape(what)}[/{style}]  [dim]{where}[/dim]"


def group_of(path: str) -> str:
    """The structure a change belongs to: 'header', 'sources[1]', 'records[0].sections[2]'."""
    parts = path.split(".")
    out = [parts[0]]
    for p in parts[1:3]:
        if "[" not in p or "[" not in out[-1]:
            break
        out.append(p)
    return ".".join(out)


def stat(result) -> dict:
    groups = {}
    for c in result.changes:
        g = groups.setdefault(group_of(c.path), {"changed": 0, "added": 0, "removed": 0})
        g[c.kind] += 1
    return {**result.stat(), "ignored": result.ignored, "groups": groups}


def _counts(d: dict) -> str:
    return ", ".join(f"{d[k]} {k}" for k in ("changed", "added", "removed") if d[k])


def text(result, color: bool, with_stat: bool) -> str:
    from .text import tree_text
    from rich.text import Text
    lines = [f"[bold]--- {escape(result.a_label)}[/bold]", f"[bold]+++ {escape(result.b_label)}[/bold]"]
    if with_stat:
        s = stat(result)
        width = max((len(g) for g in s["groups"]), default=0)
        lines += [f"{escape(g.ljust(width))}  {_counts(v)}" for g, v in s["groups"].items()]
    else:
        lines += [change_line(c) for c in result.changes]
    total = len(result.changes)
    tail = f"{total} difference{'s' if total != 1 else ''}"
    if total:
        tail += f" ({_counts(result.stat())})"
    if result.ignored:
        tail += f", {result.ignored} ignored"
    lines.append(tail)
    return tree_text(Text.from_markup("\n".join(lines)), color)


def json_text(result, with_stat: bool) -> str:
    from .data import to_json
    if with_stat:
        return to_json(stat(result))
    return to_json([c.as_dict() for c in result.changes])
