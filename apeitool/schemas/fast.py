"""The CPER fast path, generated from the construct schemas.

CPER streams hold millions of small structures and construct's per-field parse costs ~20x more
than one `struct.unpack`, so each fixed-size construct `Struct` is walked once (at first use) and
turned into a `Compiled`: one `struct.Struct` for all its bytes and one generated function that
builds the model dict from the unpacked values (construct's own `.compile()` idea, for plain
dicts). Nothing here describes a structure: fields, order, widths, names and validation bits all
come from the construct definition, so the two cannot drift apart.

Variable-length sections are walked by cper/body.py from the `Part`s that `section_parts` reads off
the tail of a section's construct schema (`Array(this.count, Item)`, `Hex(this.length - n)`,
`Hex()`).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from construct import Array, BytesInteger, FormatField, Renamed, Struct
from construct.expr import BinExpr, Path

from ..errors import DecodeError, SpecError
from .cper_fields import BitFields, FastField, Hex, Valid, int_value
from .values import check_keys


class IntField:
    """An unsigned little-endian integer field of the fast path (construct Int*ul)."""

    def __init__(self, size: int):
        self.size = size
        self.odd = size not in (1, 2, 4, 8)
        self.fmt = f"{size}s" if self.odd else {1: "B", 2: "H", 4: "I", 8: "Q"}[size]

    def decode_one(self, raw):
        return int.from_bytes(raw, "little") if self.odd else raw

    def encode_raw(self, value, path):
        v = int_value(value, path, 8 * self.size)
        return v.to_bytes(self.size, "little") if self.odd else v

    def default(self):
        return 0


def _unwrap(sc):
    """(inner construct, validation bit or None, docstring) under Renamed/Valid wrappers."""
    bit, docs = None, ""
    while True:
        if isinstance(sc, Renamed):
            docs = docs or (sc.docs or "")
            sc = sc.subcon
        elif isinstance(sc, Valid):
            bit = sc.bit
            sc = sc.subcon
        else:
            return sc, bit, docs


def _field_of(sc):
    """The fast-path conversion for one fixed-size construct."""
    if isinstance(sc, FastField):
        return sc
    if isinstance(sc, FormatField) and sc.fmtstr[0] == "<" and sc.fmtstr[1:] in ("B", "H", "L", "Q"):
        return IntField(sc.sizeof())
    if isinstance(sc, BytesInteger) and sc.swapped and not sc.signed and isinstance(sc.length, int):
        return IntField(sc.length)
    if isinstance(sc, Struct):
        return compiled(sc)
    raise TypeError(f"the fast path has no conversion for {sc!r}")


class Compiled:
    """A fixed-size structure: parse/build between bytes and the plain model, offsets, field
    lookups. `schema` is the construct Struct it was generated from."""

    def __init__(self, schema: Struct):
        self.schema = schema
        self.title = getattr(schema, "title", "") or ""
        self.ref = getattr(schema, "ref", "") or ""
        self.fields = []            # (name, conversion, validation bit)
        self.docs: Dict[str, str] = {}
        for sc in schema.subcons:
            inner, bit, docs = _unwrap(sc)
            self.fields.append((sc.name, _field_of(inner), bit))
            self.docs[sc.name] = docs
        self.names = [n for n, _f, _b in self.fields]
        self._by_name = {n: f for n, f, _b in self.fields}
        self.valid_bits = {n: b for n, _f, b in self.fields if b is not None}
        self.valid_field = "validation_bits" if self.valid_bits else None
        self.struct = struct.Struct("<" + "".join(f.fmt_whole if isinstance(f, Compiled) else f.fmt
                                                   for _n, f, _b in self.fields))
        self.size = self.struct.size
        if self.size != schema.sizeof():    # the generated layout must be the construct's
            raise AssertionError(f"{self.title}: {self.size} != {schema.sizeof()}")
        self.decode = self._generate()

    # -- decode ---------------------------------------------------------------------------------
    def _generate(self):
        """One function per structure: a dict display over the unpacked values (no per-field loop).
        A nested structure unpacks as one bytes value and is decoded by its own Compiled."""
        env, items = {}, []
        for i, (name, f, _b) in enumerate(self.fields):
            if isinstance(f, IntField):
                expr = f"int.from_bytes(vals[{i}], 'little')" if f.odd else f"vals[{i}]"
            elif isinstance(f, Compiled):
                env[f"d{i}"] = f.parse_bytes
                expr = f"d{i}(vals[{i}])"
            else:
                expr = f.inline(f"vals[{i}]", env, f"d{i}")
            items.append(f"{name!r}: {expr}")
        src = "def decode(vals):\n    return {" + ", ".join(items) + "}\n"
        exec(compile(src, f"<compiled {self.title}>", "exec"), env)
        return env["decode"]

    @property
    def fmt_whole(self) -> str:
        return f"{self.size}s"

    def parse_bytes(self, raw: bytes) -> dict:
        return self.decode(self.struct.unpack(raw))

    def parse(self, data, offset: int = 0, path: str = "", what: str = "") -> dict:
        """Decode at `offset`; a short buffer is a DecodeError naming the field where it ends."""
        if len(data) - offset < self.size:
            cut = max(len(data) - offset, 0)
            raise DecodeError(f"{what or self.title} is cut short: it needs {self.size} bytes, "
                              f"{cut} remain", offset=offset + cut, field=self.field_at(cut, path))
        return self.decode(self.struct.unpack_from(data, offset))

    # -- encode ---------------------------------------------------------------------------------
    def encode_raw(self, value, path: str) -> bytes:
        return self.build(value, path, set_valid_bits=False)

    def build(self, value, path: str = "", set_valid_bits: bool = True) -> bytes:
        if set_valid_bits:
            value = self.with_valid_bits(value)
        if not isinstance(value, dict):
            raise SpecError(f"expected a mapping, got {value!r}", field=path)
        check_keys(value, self.names, path)
        vals = []
        for name, f, _b in self.fields:
            v = value.get(name)
            vals.append(f.encode_raw(f.default() if v is None else v, f"{path}.{name}" if path else name))
        try:
            return self.struct.pack(*vals)
        except struct.error as e:  # pragma: no cover - encode_raw checks ranges first
            raise SpecError(f"cannot pack: {e}", field=path) from None

    def with_valid_bits(self, value):
        """A spec that omits the validation field gets the bits of the gated fields it gives."""
        if not self.valid_field or not isinstance(value, dict) or self.valid_field in value:
            return value
        bits = 0
        for name, bit in self.valid_bits.items():
            if value.get(name) is not None:
                bits |= 1 << bit
        return {**value, self.valid_field: bits}

    def default(self):
        return {n: f.default() for n, f, _b in self.fields}

    def field_int(self, name: str, value) -> int:
        """The integer a field's model value (a bit-field dict, an enum name...) encodes to."""
        f = self._by_name.get(name)
        if f is None:
            raise KeyError(name)
        if isinstance(f, BitFields) and isinstance(value, dict):
            try:                       # a decoded model's bits: no checks needed
                return f.pack_decoded(value)
            except (KeyError, TypeError):
                pass
        return f.encode_raw(value, name)

    # -- offsets --------------------------------------------------------------------------------
    def offsets(self) -> Dict[str, int]:
        pos, out = 0, {}
        for name, f, _b in self.fields:
            out[name] = pos
            pos += f.size
        return out

    def field_at(self, rel: int, prefix: str = "") -> str:
        """The dotted path of the innermost field covering byte `rel`."""
        pos = 0
        for name, f, _b in self.fields:
            path = f"{prefix}.{name}" if prefix else name
            if pos <= rel < pos + f.size:
                return f.field_at(rel - pos, path) if isinstance(f, Compiled) else path
            pos += f.size
        return prefix or (self.fields[-1][0] if self.fields else "")

    def is_valid(self, model: dict, name: str) -> bool:
        """Whether a gated field's validation bit is set in a decoded model (ungated: always)."""
        bit = self.valid_bits.get(name)
        if bit is None or not self.valid_field:
            return True
        bits = model.get(self.valid_field, 0)
        if isinstance(bits, dict):
            return True
        return bool(int_value(bits, self.valid_field, 64) >> bit & 1)

    def sub(self, name: str) -> Optional["Compiled"]:
        """The nested structure of field `name`, if it is one."""
        for n, f, _b in self.fields:
            if n == name and isinstance(f, Compiled):
                return f
        return None


_COMPILED: Dict[int, Compiled] = {}


def compiled(schema: Struct) -> Compiled:
    """The fast path of a fixed-size construct Struct (generated once per schema object)."""
    c = _COMPILED.get(id(schema))
    if c is None or c.schema is not schema:
        c = _COMPILED[id(schema)] = Compiled(schema)
    return c


# -- variable sections ------------------------------------------------------------------------------

def field_path(expr) -> Optional[str]:
    """'validation_bits.error_info_count' for this.validation_bits.error_info_count, else None."""
    if isinstance(expr, Path):
        names = re.findall(r"\['([^']*)'\]", repr(expr))
        return ".".join(names) if names else None
    return None


def _length_of(expr):
    """(field path, bytes the field counts besides the blob) of `this.f` or `this.f - n`."""
    if isinstance(expr, BinExpr) and expr.op.__name__ == "sub" and isinstance(expr.rhs, int):
        return field_path(expr.lhs), expr.rhs
    return field_path(expr), 0


@dataclass
class Part:
    """A variable part after a section's fixed head: `items` of `layout` (count from a field), or
    a byte blob whose length comes from a field (`length`) or fills the rest (`rest`)."""
    name: str
    layout: Optional[Compiled] = None
    count: Optional[Callable[[dict], int]] = None
    length: Optional[Callable[[dict], int]] = None
    count_field: Optional[str] = None
    length_field: Optional[str] = None
    blob_after: Optional[str] = None       # each item carries a blob of this many bytes
    blob_len: Optional[Callable[[dict], int]] = None
    blob_size_field: Optional[str] = None
    rest: bool = False                     # a blob that takes every byte left
    length_adjust: int = 0                 # the length field counts this many bytes besides the blob
    blob_adjust: int = 0                   # each item's size field counts this many bytes besides its blob
    label: str = ""                        # the spec's names of the part and of each item's blob
    blob_label: str = ""


@dataclass
class Body:
    """How cper/body.py walks one section type: the compiled fixed head and the parts after it."""
    key: str
    schema: Struct
    layout: Compiled
    parts: List[Part] = field(default_factory=list)
    min_length: Optional[int] = None      # shorter sections decode zero-padded, marked truncated


def _fixed(sc) -> bool:
    try:
        sc.sizeof()
        return True
    except Exception:
        return False


def section_body(key: str, schema: Struct, min_length: Optional[int] = None) -> Body:
    """Split a section's construct schema into its fixed head (compiled) and the parts after it."""
    subcons = list(schema.subcons)
    k = 0
    while k < len(subcons) and _fixed(subcons[k]):
        k += 1
    head = Struct(*subcons[:k])
    head.title, head.ref = getattr(schema, "title", key), getattr(schema, "ref", "")
    parts = []
    for sc in subcons[k:]:
        inner, _bit, docs = _unwrap(sc)
        if isinstance(inner, Array):
            item = inner.subcon
            fixed = [s for s in item.subcons if _fixed(s)]
            tail = [s for s in item.subcons if not _fixed(s)]
            layout_schema = item if not tail else Struct(*fixed)
            layout_schema.title = getattr(item, "title", sc.name)
            layout_schema.ref = getattr(item, "ref", "")
            part = Part(sc.name, compiled(layout_schema), count=inner.count,
                        count_field=field_path(inner.count), label=docs)
            if tail:
                blob = _unwrap(tail[0])[0]
                size_field, adjust = _length_of(blob.length)
                part.blob_after, part.blob_len = tail[0].name, blob.length
                part.blob_size_field, part.blob_adjust = size_field, adjust
                part.blob_label = _unwrap(tail[0])[2]
            parts.append(part)
        elif isinstance(inner, Hex) and inner.length is None:
            parts.append(Part(sc.name, rest=True, label=docs))
        elif isinstance(inner, Hex):
            length_field, adjust = _length_of(inner.length)
            parts.append(Part(sc.name, length=inner.length, length_field=length_field, length_adjust=adjust,
                              label=docs))
        else:
            raise TypeError(f"{key}: no walk for the variable field {sc.name!r}")
    return Body(key, schema, compiled(head), parts, min_length)
