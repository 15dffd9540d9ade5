"""Section bodies: bytes <-> model through the tables in schemas/sections.py.

Counts and lengths read from the bytes are checked against the bytes present before anything is
walked, so a lying count is an error naming the count field, never a long loop. A body the decoder
cannot read becomes {"data": hex} with the reason (the record's other sections still decode).
"""
from __future__ import annotations

from typing import Optional, Tuple

from ..errors import DecodeError, SpecError
from ..guids import SECTION_KEY_BY_GUID, SECTION_TYPES
from ..schemas.cper_fields import hex_bytes
from ..schemas.fast import Body
from ..schemas.sections import BODIES


def section_key(section_type: str) -> Optional[str]:
    """Model key of a section type given as key or GUID text ('platform_memory' for a5bc1114-...)."""
    if not isinstance(section_type, str):
        return None
    if section_type in SECTION_TYPES:
        return section_type
    return SECTION_KEY_BY_GUID.get(str(section_type).lower())


def decode_body(section_type: str, data: bytes, base: int = 0, path: str = "body"
                ) -> Tuple[dict, Optional[DecodeError]]:
    """(body model, None) or, when the bytes do not fit the section's layout, ({"data": hex}, error)."""
    body = BODIES.get(section_key(section_type) or "")
    if body is None:
        return {"data": data.hex()}, None
    try:
        return _decode(body, data, path), None
    except DecodeError as e:
        e.offset = base + (e.offset or 0)
        return {"data": data.hex()}, e


def _decode(body: Body, data: bytes, path: str) -> dict:
    layout = body.layout
    n = len(data)
    if n < layout.size:
        if body.min_length is None or n < body.min_length:
            raise DecodeError(f"{layout.title} is cut short: {layout.size} bytes needed, {n} present",
                              offset=n, field=layout.field_at(n, path))
        out = layout.parse(data + bytes(layout.size - n), 0, path)
        out["truncated_length"] = n
        return out
    out = layout.parse(data, 0, path)
    pos = layout.size
    for part in body.parts:
        if part.layout is not None:
            count = part.count(out)
            item = part.layout.size
            if count * item > n - pos:
                raise DecodeError(f"{part.count_field or 'count'} says {count} {part.name} structures "
                                  f"({count * item} bytes) but {n - pos} bytes remain",
                                  offset=pos, field=f"{path}.{part.count_field or part.name}")
            items = []
            for i in range(count):
                entry = part.layout.parse(data, pos, f"{path}.{part.name}[{i}]")
                pos += item
                if part.blob_after:
                    size = part.blob_len(entry)
                    if size < 0 or size > n - pos:
                        said = size + part.blob_adjust
                        why = (f"less than its {part.blob_adjust}-byte header" if size < 0 else
                               f"but {n - pos + part.blob_adjust} remain")
                        raise DecodeError(f"{part.blob_size_field} says {said} bytes, {why}", offset=pos - item,
                                          field=f"{path}.{part.name}[{i}].{part.blob_size_field}")
                    entry[part.blob_after] = data[pos:pos + size].hex()
                    pos += size
                items.append(entry)
            out[part.name] = items
        else:
            size = n - pos if part.rest else part.length(out)
            if size < 0 or size > n - pos:
                raise DecodeError(f"{part.length_field} gives {part.name} {size} bytes but "
                                  f"{n - pos} remain", offset=pos, field=f"{path}.{part.length_field}")
            out[part.name] = data[pos:pos + size].hex()
            pos += size
    if pos < n:
        out["extra"] = data[pos:].hex()
    return out


def build_body(section_type: str, body, path: str = "body") -> bytes:
    """Bytes of a body model; {"data": hex} is taken as the raw body for any section type."""
    if not isinstance(body, dict):
        raise SpecError(f"expected a mapping, got {body!r}", field=path)
    if "data" in body:
        if len(body) > 1:
            raise SpecError("a raw body ('data') cannot have other fields", field=path)
        return hex_bytes(body["data"], f"{path}.data")
    key = section_key(section_type)
    if key is None or key not in BODIES:
        raise SpecError(f"no layout for section type {section_type!r}: give the body as "
                        f"{{data: <hex>}}", field=path)
    return _build(BODIES[key], body, path)


def _set_default(obj: dict, dotted: str, value: int):
    """Fill a derived count/length at a dotted path unless the spec gives it."""
    head, _, rest = dotted.partition(".")
    if not rest:
        obj.setdefault(head, value)
        return
    sub = obj.get(head)
    if sub is None:
        sub = {}
    if isinstance(sub, dict):
        sub = dict(sub)
        sub.setdefault(rest, value)
        obj[head] = sub


def _build(body: Body, spec: dict, path: str) -> bytes:
    spec = dict(spec)
    part_names = {p.name for p in body.parts}
    truncated = spec.pop("truncated_length", None)
    extra = hex_bytes(spec.pop("extra", "") or "", f"{path}.extra")
    parts = {name: spec.pop(name) for name in list(spec) if name in part_names}
    tail = bytearray()
    for part in body.parts:
        value = parts.get(part.name)
        sub = f"{path}.{part.name}"
        if part.layout is not None:
            value = value or []
            if not isinstance(value, list):
                raise SpecError("expected a list", field=sub)
            if part.count_field:
                _set_default(spec, part.count_field, len(value))
            for i, entry in enumerate(value):
                if not isinstance(entry, dict):
                    raise SpecError("expected a mapping", field=f"{sub}[{i}]")
                entry = dict(entry)
                blob = b""
                if part.blob_after:
                    blob = hex_bytes(entry.pop(part.blob_after, "") or "", f"{sub}[{i}].{part.blob_after}")
                    entry.setdefault(part.blob_size_field, len(blob) + part.blob_adjust)
                tail += part.layout.build(entry, f"{sub}[{i}]") + blob
        else:
            data = hex_bytes(value or "", sub)
            if part.length_field:
                _set_default(spec, part.length_field, len(data) + part.length_adjust)
            tail += data
    out = body.layout.build(spec, path) + bytes(tail) + extra
    if truncated is not None:
        out = out[:truncated]
    return out
