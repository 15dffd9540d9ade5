"""Human-readable tree of a decoded table, with spec names for enums and decoded flags.

Walks the schema alongside the model (as the iasl renderer walks it alongside the bytes), so every
field shows with its label and byte offset. Plain text (no colour) when not writing to a terminal.
"""
from __future__ import annotations

import re

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
    header = model["header"]
    sig = header["signature"]
    desc = names.TABLE_DESCRIPTION_IASL.get(sig, "")
    root = Node(f"[bold]{sig}[/bold] {desc} — {_escape(label)} "
                f"({header['length']} bytes, revision {header['revision']})")
    add_struct(root.add("Header"), SdtHeader, header, 0)
    codec(sig).text_tree(root, model, add_struct)
    for w in warnings:
        root.add(f"[yellow]warning:[/yellow] {_escape(w.one_line())}")
    return root


def render(model: dict, label: str, warnings=(), color: bool = None) -> str:
    """The tree as a string (ANSI colours only when color is true)."""
    return tree_text(table_tree(model, label, warnings), color)


class Node:
    """A tree of labels (rich markup) built by the renderers; printed plain without rich, or
    through rich when colour is wanted. Plain printing is ~50x faster than rich's Tree, which
    matters for files of many records."""
    __slots__ = ("label", "children")

    def __init__(self, label: str):
        self.label, self.children = label, []

    def add(self, label: str) -> "Node":
        child = Node(label)
        self.children.append(child)
        return child

    def to_rich(self):
        from rich.tree import Tree
        tree = Tree(self.label)
        stack = [(self, tree)]
        while stack:
            node, rtree = stack.pop()
            for child in node.children:
                stack.append((child, rtree.add(child.label)))
        return tree


_MARKUP = re.compile(r"\[/?(?:bold|dim|red|yellow|green)\]")


def _plain(label: str) -> str:
    return _MARKUP.sub("", label).replace("\\[", "[")


def _plain_lines(node: Node, out: list) -> None:
    out.append(_plain(node.label))
    stack = [(node.children, 0, "")]
    while stack:
        children, k, prefix = stack.pop()
        if k >= len(children):
            continue
        child = children[k]
        last = k == len(children) - 1
        out.append(prefix + ("└── " if last else "├── ") + _plain(child.label))
        stack.append((children, k + 1, prefix))
        if child.children:
            stack.append((child.children, 0, prefix + ("    " if last else "│   ")))


def tree_text(tree, color) -> str:
    """A Node tree or markup line as text: plain, or with rich's colours when `color`."""
    if not color and isinstance(tree, (Node, str)):
        if isinstance(tree, str):
            return _plain(tree) + "\n"
        out: list = []
        _plain_lines(tree, out)
        return "\n".join(out) + "\n"
    import io
    from rich.console import Console
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=bool(color), color_system="auto" if color else None,
                      width=120, highlight=False)
    console.print(tree.to_rich() if isinstance(tree, Node) else tree)
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


class _Where:
    """Where the fields of one CPER item are: its offset map (locate.item_offsets) and the width
    of the offset column."""

    def __init__(self, offsets, width: int = 4):
        self.offsets, self.width = offsets or {}, width

    def head(self, path: str, label: str) -> str:
        off = self.offsets.get(path)
        return f"[dim]{off:0{self.width}X}[/dim] {label}" if off is not None else label


def _label_of(layout, name: str) -> str:
    docs = getattr(layout, "docs", None) or {}
    return _escape(docs.get(name) or name)


def _add_value(tree, name: str, value, layout=None, owner=None, where=None, path: str = "", label=None):
    """One field, with its offset and spec name when known; a field whose validation bit is clear
    is shown dimmed as not valid. `layout` is the compiled structure `owner` was decoded with."""
    where = where or _Where(None)
    valid = layout is None or owner is None or layout.is_valid(owner, name)
    mark = "" if valid else " [dim](not valid)[/dim]"
    head = where.head(path, label if label is not None else _label_of(layout, name))
    if isinstance(value, dict):
        sub = tree.add(f"{head}{mark}")
        inner = None if layout is None else layout.sub(name)
        for k, v in value.items():
            _add_value(sub, k, v, inner, value, where, f"{path}.{k}")
    elif isinstance(value, list):
        sub = tree.add(f"{head} [{len(value)}]{mark}")
        for i, item in enumerate(value):
            sub.add(f"[{i}] {_escape(_leaf_text(item))}")
    else:
        text = f"{head}: {_escape(_leaf_text(value))}"
        tree.add(text + mark if valid else f"[dim]{text}[/dim]{mark}")


def _add_fields(tree, obj: dict, layout, where, path: str, skip=()):
    for k, v in obj.items():
        if k not in skip:
            _add_value(tree, k, v, layout, obj, where, f"{path}.{k}")


def _body(tree, stype, body, error, where=None, path: str = ""):
    from ..cper.body import section_key
    from ..guids import SECTION_TYPES, section_title
    from ..schemas.sections import BODIES
    where = where or _Where(None)
    key = section_key(stype)
    title = SECTION_TYPES[key][1] if key else (section_title(stype) or f"unknown section {stype}")
    node = tree.add(where.head(path, f"[bold]{_escape(title)}[/bold]"))
    if error:
        node.add(f"[red]error:[/red] {_escape(error)}")
    if body is None:
        return
    spec = BODIES[key] if key in BODIES and "data" not in body else None
    layout = spec.layout if spec is not None else None
    parts = {p.name: p for p in spec.parts} if spec is not None else {}
    for k, v in body.items():
        part = parts.get(k)
        if part is not None and part.layout is not None:
            sub = node.add(f"{where.head(f'{path}.{k}', _escape(part.label or k))} [{len(v)}]")
            for i, item in enumerate(v):
                ipath = f"{path}.{k}[{i}]"
                inode = sub.add(where.head(ipath, f"[{i}]"))
                _add_fields(inode, item, part.layout, where, ipath, skip=(part.blob_after,))
                if part.blob_after in item:
                    _add_value(inode, part.blob_after, item[part.blob_after], None, None, where,
                               f"{ipath}.{part.blob_after}", _escape(part.blob_label or part.blob_after))
            continue
        _add_value(node, k, v, layout, body, where, f"{path}.{k}",
                   _escape(part.label or k) if part is not None else None)
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


def cper_item_tree(form: str, i: int, item: dict, offsets=None, width: int = 4):
    """The tree of one record, status block or section; `offsets` (locate.item_offsets) puts each
    field's byte offset in the input before it."""
    from ..cper import FORMS
    from ..cper.estatus import entry_layout
    from ..schemas.cper import ERROR_STATUS_BLOCK, RECORD_HEADER, SECTION_DESCRIPTOR
    where = _Where(offsets, width)
    path = f"{FORMS[form]}[{i}]"
    if form == "record":
        h = item["header"]
        node = Node(where.head(path, f"[bold]Record {i}[/bold]: {h['error_severity']}, {h['section_count']} "
                                     f"section(s), {h['record_length']} bytes"))
        _add_fields(node.add(where.head(f"{path}.header", "Header")), h, RECORD_HEADER, where, f"{path}.header")
        sections = [(f"{path}.sections[{j}]", sec) for j, sec in enumerate(item["sections"])]
    elif form == "estatus":
        n = len(item["entries"])
        node = Node(where.head(path, f"[bold]Block {i}[/bold]: {item['error_severity']}, "
                                     f"{n} entr{'y' if n == 1 else 'ies'}"))
        _add_fields(node, item, ERROR_STATUS_BLOCK, where, path, skip=("entries", "raw_data", "unparsed"))
        for j, e in enumerate(item["entries"]):
            epath = f"{path}.entries[{j}]"
            enode = node.add(where.head(epath, f"Entry {j}: severity {e['error_severity']}"))
            _add_fields(enode, e, entry_layout(e["revision"]), where, epath, skip=("body", "error"))
            _body(enode, e["section_type"], e.get("body"), e.get("error"), where, f"{epath}.body")
        if item.get("raw_data"):
            node.add(f"{where.head(f'{path}.raw_data', 'Raw Data')}: {_leaf_text(item['raw_data'])}")
        return node
    else:
        node = Node(where.head(path, f"[bold]Section {i}[/bold]"))
        sections = [(path, item)]
    for j, (spath, sec) in enumerate(sections):
        d = sec["descriptor"]
        snode = node.add(f"Section {j}: severity {d['section_severity']}")
        dnode = snode.add(where.head(f"{spath}.descriptor", "Descriptor"))
        _add_fields(dnode, d, SECTION_DESCRIPTOR, where, f"{spath}.descriptor")
        _body(snode, d["section_type"], sec.get("body"), sec.get("error"), where, f"{spath}.body")
    return node


_WORDS = {"record": ("CPER record", "CPER records"), "estatus": ("error status block", "error status blocks"),
          "section": ("section", "sections")}


def cper_heading(form: str, label: str) -> str:
    return f"[bold]{_escape(label)}[/bold]: {_WORDS[form][1]}"


def cper_footer(form: str, count: int, tail: dict) -> str:
    text = f"{count} {_WORDS[form][0 if count == 1 else 1]}"
    if tail.get("padding"):
        text += f", then {tail['padding']} zero bytes of padding"
    if tail.get("trailing"):
        text += f", then {len(tail['trailing']) // 2} bytes that are not part of one"
    return text


def cper_document_text(doc: dict, label: str, color: bool = False, data: bytes = None) -> str:
    """The text of a whole document, through the same writer that streams it item by item
    (render.streamed.TextWriter); with `data`, the decoded bytes, fields get their offsets."""
    import io
    from ..cper import FORMS, iter_items
    from .streamed import TextWriter
    form = doc["form"]
    positions = [pos for _m, _w, pos, _n in iter_items(data, form)] if data is not None else []
    out = io.BytesIO()
    writer = TextWriter(out, 1, color)
    writer.begin(form, label)
    for i, item in enumerate(doc[FORMS[form]]):
        writer.item(i, item, positions[i] if i < len(positions) else None)
    writer.end({k: doc[k] for k in ("padding", "trailing") if k in doc})
    return out.getvalue().decode("utf-8")


def render_cper(doc: dict, label: str, warnings=(), color: bool = None, data: bytes = None) -> str:
    """The text of a CPER document (its warnings go to stderr, as decode prints them)."""
    return cper_document_text(doc, label, bool(color), data)
