"""Human-readable tree of a decoded table, with spec names for enums and decoded flags.

Walks the schema alongside the model (as the iasl renderer walks it alongside the bytes), so every
field shows with its label and byte offset. Plain text (no colour) when not writing to a terminal.
"""
from __future__ import annotations

from .. import names
from ..schemas.common import BitFlags, FixedName, NamedEnum, fields, leaf, show_name
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
        return f'"{show_name(value)}"'
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
    return tree_text(table_tree(model, label, warnings), color)


def tree_text(tree, color) -> str:
    import io
    from rich.console import Console
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=bool(color), color_system="auto" if color else None,
                      width=120, highlight=False)
    console.print(tree)
    return buf.getvalue()


# -- CPER documents -----------------------------------------------------------------------------

def _leaf_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value} (0x{value:X})" if value > 9 else str(value)
    if isinstance(value, str) and len(value) > 64:
        return f"{value[:64]}… ({len(value) // 2} bytes)"
    return repr(value) if isinstance(value, str) and value == "" else str(value)


def _add_value(tree, name: str, value, layout=None, owner=None):
    """One field; a field whose validation bit is clear is shown dimmed as not valid."""
    valid = layout is None or owner is None or layout.is_valid(owner, name)
    mark = "" if valid else " [dim](not valid)[/dim]"
    if isinstance(value, dict):
        sub = tree.add(f"{_escape(name)}{mark}")
        inner = _sub_layout(layout, name)
        for k, v in value.items():
            _add_value(sub, k, v, inner, value)
    elif isinstance(value, list):
        sub = tree.add(f"{_escape(name)} [{len(value)}]{mark}")
        item_layout = _item_layout(layout, name)
        for i, item in enumerate(value):
            if isinstance(item, dict):
                node = sub.add(f"[{i}]")
                for k, v in item.items():
                    _add_value(node, k, v, item_layout, item)
            else:
                sub.add(f"[{i}] {_escape(_leaf_text(item))}")
    else:
        text = f"{_escape(name)}: {_escape(_leaf_text(value))}"
        tree.add(text + mark if valid else f"[dim]{text}[/dim]{mark}")


def _sub_layout(layout, name):
    return None if layout is None else layout.sub(name)


def _item_layout(layout, name):
    from ..schemas.sections import BODIES
    for body in BODIES.values():
        if body.layout is layout:
            for part in body.parts:
                if part.name == name:
                    return part.layout
    return None


def _body(tree, stype, body, error):
    from ..cper.body import section_key
    from ..guids import SECTION_TYPES, section_title
    from ..schemas.sections import BODIES
    key = section_key(stype)
    title = SECTION_TYPES[key][1] if key else (section_title(stype) or f"unknown section {stype}")
    node = tree.add(f"[bold]{_escape(title)}[/bold]")
    if error:
        node.add(f"[red]error:[/red] {_escape(error)}")
    if body is None:
        return
    layout = BODIES[key].layout if key in BODIES and "data" not in body else None
    for k, v in body.items():
        _add_value(node, k, v, layout, body)
        if isinstance(v, str) and layout is not None and layout.is_valid(body, k):
            view = _blob_view(key, k, v)
            if view is not None:
                _add_value(node, f"{k} (decoded)", view)


def _blob_view(key: str, name: str, hexdata: str):
    """The registers of a byte field the model keeps whole, read where the spec puts them (PCIe
    capability structure and AER capture), or None."""
    if key != "pcie":
        return None
    from .libcper_pcie import register_view
    view = register_view(name, bytes.fromhex(hexdata))
    return None if view is None else view[0]


def cper_tree(doc: dict, label: str, warnings=()):
    from rich.tree import Tree
    from ..schemas.cper import RECORD_HEADER, SECTION_DESCRIPTOR
    form = doc["form"]
    words = {"record": "CPER record(s)", "estatus": "error status block(s)", "section": "section(s)"}
    items = doc[{"record": "records", "estatus": "blocks", "section": "sections"}[form]]
    root = Tree(f"[bold]{len(items)} {words[form]}[/bold] — {_escape(label)}")
    for i, item in enumerate(items):
        if form == "record":
            h = item["header"]
            node = root.add(f"[bold]Record {i}[/bold]: {h['error_severity']}, {h['section_count']} "
                            f"section(s), {h['record_length']} bytes")
            hdr = node.add("Header")
            for k, v in h.items():
                _add_value(hdr, k, v, RECORD_HEADER, h)
            sections = item["sections"]
        elif form == "estatus":
            node = root.add(f"[bold]Block {i}[/bold]: {item['error_severity']}, "
                            f"{len(item['entries'])} entr{'y' if len(item['entries']) == 1 else 'ies'}")
            for k, v in item.items():
                if k not in ("entries", "raw_data", "unparsed"):
                    _add_value(node, k, v)
            for j, e in enumerate(item["entries"]):
                enode = node.add(f"Entry {j}: severity {e['error_severity']}")
                for k, v in e.items():
                    if k not in ("body", "error"):
                        _add_value(enode, k, v)
                _body(enode, e["section_type"], e.get("body"), e.get("error"))
            if item.get("raw_data"):
                node.add(f"raw_data: {_leaf_text(item['raw_data'])}")
            continue
        else:
            node = root.add(f"[bold]Section {i}[/bold]")
            sections = [item]
        for j, sec in enumerate(sections):
            d = sec["descriptor"]
            snode = node.add(f"Section {j}: severity {d['section_severity']}")
            dnode = snode.add("Descriptor")
            for k, v in d.items():
                _add_value(dnode, k, v, SECTION_DESCRIPTOR, d)
            _body(snode, d["section_type"], sec.get("body"), sec.get("error"))
    for w in warnings:
        root.add(f"[yellow]warning:[/yellow] {_escape(w.one_line())}")
    return root


def render_cper(doc: dict, label: str, warnings=(), color: bool = None) -> str:
    return tree_text(cper_tree(doc, label, warnings), color)
