"""Human-readable tree of a decoded table, with spec names for enums and decoded flags.

Walks the schema alongside the model (as the iasl renderer walks it alongside the bytes), so every
field shows with its label and byte offset. Plain text (no colour) when not writing to a terminal.
"""
from __future__ import annotations

from .. import names
from ..schemas.common import BitFlags, FixedName, NamedEnum, fields, leaf
from ..schemas.header import SdtHeader
from ..tables import codec


def _num(value: int, size: int) -> str:
    if value < 10:
        return str(value)
    if size >= 8:
        return f"0x{value:X}"
    return f"0x{value:X} ({value})"


def _value(inner, value, size: int) -> str:
    if isinstance(inner, NamedEnum):
        number = inner.to_int(value)
        if isinstance(value, str):
            return f"{value} ({names.spec_description(inner.kind, number)}, {number})"
        return f"0x{number:X} (reserved value)"
    if isinstance(inner, BitFlags):
        if not isinstance(value, dict):
            return f"0x{value:X}"
        raw = sum(1 << bit for name, bit, _ in inner.bits if value.get(name)) | value.get("reserved", 0)
        on = [name for name, _bit, _ in inner.bits if value.get(name)]
        if value.get("reserved"):
            on.append(f"reserved bits 0x{value['reserved']:X}")
        return f"0x{raw:0{size * 2}X}" + (f" [{', '.join(on)}]" if on else "")
    if isinstance(inner, FixedName):
        return repr(value) if any(not (0x20 <= ord(c) < 0x7F) for c in value) else f'"{value}"'
    if isinstance(value, int):
        return _num(value, size)
    return str(value)


def _label(label: str, name: str) -> str:
    return (label or name).replace(" (decoded below)", "")


def add_struct(tree, struct, obj: dict, offset: int):
    """Add one node per field of `struct` (nested structures as subtrees)."""
    pos = offset
    for name, sc, label in fields(struct):
        size = sc.sizeof()
        inner = leaf(sc)
        value = obj.get(name)
        head = f"[dim]{pos:04X}[/dim] {_label(label, name)}"
        if hasattr(inner, "subcons"):
            sub = tree.add(head)
            add_struct(sub, inner, value or {}, pos)
        else:
            tree.add(f"{head}: {_escape(_value(inner, value, size))}")
        pos += size


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def table_tree(model: dict, label: str, warnings=()):
    from rich.tree import Tree
    header = model["header"]
    sig = header["signature"]
    desc = names.TABLE_DESCRIPTION_IASL.get(sig, "")
    root = Tree(f"[bold]{sig}[/bold] {desc} — {_escape(label)} "
                f"({header['length']} bytes, revision {header['revision']})")
    add_struct(root.add("Header"), SdtHeader, header, 0)
    codec(sig).text_tree(root, model, add_struct)
    for w in warnings:
        root.add(f"[yellow]warning:[/yellow] {_escape(w.one_line())}")
    return root


def render(model: dict, label: str, warnings=(), color: bool = None) -> str:
    """The tree as a string (ANSI colours only when color is true)."""
    import io
    from rich.console import Console
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=bool(color), color_system="auto" if color else None,
                      width=120, highlight=False)
    console.print(table_tree(model, label, warnings))
    return buf.getvalue()
