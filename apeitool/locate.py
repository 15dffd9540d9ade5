"""Where each field of a decoded input lies: {dotted model path: byte offset in the input}.

diff and validate report offsets with their paths. The maps are built on demand from the same
structure tables the decoders use (table walks, CPER layouts), never on the decode hot path.
"""
from __future__ import annotations

from typing import Dict, Optional

Offsets = Dict[str, int]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def struct_offsets(struct, base: int, prefix: str, out: Offsets) -> None:
    """A construct Struct's fields (nested structures included) at `base`."""
    from .schemas.common import fields, leaf
    pos = base
    for name, sc, _doc in fields(struct):
        path = _join(prefix, name)
        out[path] = pos
        inner = leaf(sc)
        if hasattr(inner, "subcons"):
            struct_offsets(inner, pos, path, out)
        pos += sc.sizeof()


def layout_offsets(layout, base: int, prefix: str, out: Offsets) -> None:
    """A compiled CPER structure's fields (nested structures included) at `base`."""
    from .schemas.fast import Compiled
    pos = base
    for name, t, _v in layout.fields:
        path = _join(prefix, name)
        out[path] = pos
        if isinstance(t, Compiled):
            layout_offsets(t, pos, path, out)
        pos += t.size


def table_offsets(table: bytes) -> Offsets:
    """Every field of a decodable ACPI table: header, then the codec's structure walk."""
    from .schemas.header import SdtHeader
    from .tables import codec
    out: Offsets = {}
    struct_offsets(SdtHeader, 0, "header", out)
    for offset, struct, path in codec(table[:4].decode("latin-1")).walk(table):
        if path:
            out[path] = offset
        if not isinstance(struct, str):   # a zero gap has no fields
            struct_offsets(struct, offset, path, out)
    return out


def body_offsets(section_type: str, body: dict, base: int, path: str, out: Offsets) -> None:
    """A decoded section body: its fixed layout, then its parts as the model sizes them."""
    from .cper.body import section_key
    from .schemas.sections import BODIES
    out[path] = base
    spec = BODIES.get(section_key(section_type) or "")
    if not isinstance(body, dict) or "data" in body or spec is None:
        if isinstance(body, dict) and "data" in body:
            out[f"{path}.data"] = base
        return
    layout_offsets(spec.layout, base, path, out)
    pos = base + spec.layout.size
    for part in spec.parts:
        value = body.get(part.name)
        sub = f"{path}.{part.name}"
        out[sub] = pos
        if part.layout is not None:
            for i, entry in enumerate(value or []):
                layout_offsets(part.layout, pos, f"{sub}[{i}]", out)
                out[f"{sub}[{i}]"] = pos
                pos += part.layout.size
                if part.blob_after:
                    out[f"{sub}[{i}].{part.blob_after}"] = pos
                    pos += len(entry.get(part.blob_after) or "") // 2
        else:
            pos += len(value or "") // 2
    if body.get("extra"):
        out[f"{path}.extra"] = pos


def cper_offsets(doc: dict, data: bytes) -> Offsets:
    """Every field of a decoded CPER document (records, status blocks or sections) in `data`."""
    from .cper import iter_items
    out: Offsets = {}
    end = 0
    for i, (model, _w, pos, length) in enumerate(iter_items(data, doc["form"])):
        item_offsets(doc["form"], i, model, pos, out)
        end = pos + length
    if doc.get("trailing"):
        out["trailing"] = end
    return out


def item_offsets(form: str, i: int, model: dict, pos: int, out: Optional[Offsets] = None) -> Offsets:
    """Every field of item `i` of a CPER document (a record, status block or section model) that
    starts at byte `pos`, keyed like the document's paths ('records[0].header.record_id')."""
    from .cper import FORMS
    from .cper.estatus import BLOCK_HEADER, entry_layout
    from .cper.record import DESCRIPTOR_SIZE, HEADER_SIZE
    from .schemas.cper import ERROR_STATUS_BLOCK, RECORD_HEADER, SECTION_DESCRIPTOR
    out = {} if out is None else out
    item = f"{FORMS[form]}[{i}]"
    out[item] = pos
    if form == "record":
        layout_offsets(RECORD_HEADER, pos, f"{item}.header", out)
        for s, sec in enumerate(model["sections"]):
            spath = f"{item}.sections[{s}]"
            dpos = pos + HEADER_SIZE + s * DESCRIPTOR_SIZE
            out[spath] = dpos
            layout_offsets(SECTION_DESCRIPTOR, dpos, f"{spath}.descriptor", out)
            if sec.get("body") is not None:
                body_offsets(sec["descriptor"]["section_type"], sec["body"],
                             pos + sec["descriptor"]["section_offset"], f"{spath}.body", out)
        for u, gap in enumerate(model.get("unparsed", [])):
            out[f"{item}.unparsed[{u}]"] = pos + gap["offset"]
    elif form == "section":
        layout_offsets(SECTION_DESCRIPTOR, pos, f"{item}.descriptor", out)
        body_offsets(model["descriptor"]["section_type"], model["body"],
                     pos + model["descriptor"]["section_offset"], f"{item}.body", out)
    else:
        layout_offsets(ERROR_STATUS_BLOCK, pos, item, out)
        epos = pos + BLOCK_HEADER
        for e, entry in enumerate(model["entries"]):
            epath = f"{item}.entries[{e}]"
            layout = entry_layout(entry["revision"])
            out[epath] = epos
            layout_offsets(layout, epos, epath, out)
            body_offsets(entry["section_type"], entry["body"], epos + layout.size, f"{epath}.body", out)
            epos += layout.size + entry["error_data_length"]
        if "raw_data" in model:
            out[f"{item}.raw_data"] = pos + model["raw_data_offset"]
    return out


def offsets_of(decoded) -> Offsets:
    """The offset map of an apeitool.Decoded (table or CPER document)."""
    if decoded.kind in ("cper", "estatus"):
        return cper_offsets(decoded.model, decoded.data)
    return table_offsets(decoded.data)


def offset_of(offsets: Offsets, path: str) -> Optional[int]:
    """The offset of `path`, or of its nearest enclosing field the map knows (bit flags, names...)."""
    while path:
        if path in offsets:
            return offsets[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return None
        path = path[:cut]
    return None
