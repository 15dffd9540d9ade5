"""Declarative fixed layouts for the CPER hot path, compiled to one `struct` unpack per structure.

CPER streams hold millions of small structures, so these tables are compiled into a single
`struct.Struct` each (construct's per-field parse costs ~20x more). A Layout is data: an ordered list
of (name, type[, valid bit]) where the valid bit says which bit of the structure's validation field
gates the field. Every byte belongs to some field, reserved ones included, so
encode(decode(x)) == x for any input.
"""
from __future__ import annotations

import struct
import uuid
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import DecodeError, SpecError
from .values import check_keys, parse_int


class FieldType:
    """How one field maps between struct values and the plain model."""
    fmt = ""
    nvals = 1
    size = 0

    def decode(self, vals):
        return vals[0]

    def decode_one(self, v):
        """decode() of a one-value field, without the tuple (the compiled layouts call this)."""
        return self.decode((v,))

    def encode(self, value, path) -> tuple:
        raise NotImplementedError

    def default(self):
        return 0


def _int(value, path, bits):
    try:
        v = parse_int(value, "value")
    except ValueError as e:
        raise SpecError(str(e), field=path) from None
    if not 0 <= v < (1 << bits):
        raise SpecError(f"{v:#x} does not fit in {bits} bits", field=path)
    return v


class Int(FieldType):
    def __init__(self, size: int):
        self.size = size
        self.fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}.get(size, f"{size}s")
        self.odd = size not in (1, 2, 4, 8)

    def decode(self, vals):
        return int.from_bytes(vals[0], "little") if self.odd else vals[0]

    def decode_one(self, v):
        return int.from_bytes(v, "little") if self.odd else v

    def encode(self, value, path):
        v = _int(value, path, 8 * self.size)
        return (v.to_bytes(self.size, "little"),) if self.odd else (v,)


U8, U16, U24, U32, U64 = Int(1), Int(2), Int(3), Int(4), Int(8)


class Hex(FieldType):
    """Opaque bytes as a lower-case hex string (reserved areas, register dumps, vendor blobs)."""

    def __init__(self, size: int):
        self.size = size
        self.fmt = f"{size}s"

    def decode(self, vals):
        return vals[0].hex()

    def encode(self, value, path):
        return (hex_bytes(value, path, self.size),)

    def default(self):
        return "00" * self.size


def hex_bytes(value, path, size: Optional[int] = None) -> bytes:
    """A spec's hex string ('0a1b..', spaces/colons allowed) or list of ints as bytes."""
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, list):
        try:
            data = bytes(parse_int(v) for v in value)
        except (ValueError, TypeError) as e:
            raise SpecError(f"bad byte list: {e}", field=path) from None
    elif isinstance(value, str):
        text = "".join(value.split()).replace(":", "").replace("-", "")
        if text.lower().startswith("0x"):
            text = text[2:]
        try:
            data = bytes.fromhex(text)
        except ValueError:
            raise SpecError(f"not a hex string: {value[:40]!r}", field=path) from None
    else:
        raise SpecError(f"expected a hex string, got {value!r}", field=path)
    if size is not None and len(data) != size:
        if len(data) > size:
            raise SpecError(f"{len(data)} bytes given, the field holds {size}", field=path)
        data = data.ljust(size, b"\0")
    return data


class Guid(FieldType):
    """An EFI_GUID (mixed-endian) as its standard lower-case text."""
    fmt = "16s"
    size = 16

    def decode(self, vals):
        return guid_str(vals[0])

    def decode_one(self, v):
        return guid_str(v)

    def encode(self, value, path):
        return (guid_bytes(value, path),)

    def default(self):
        return "00000000-0000-0000-0000-000000000000"


GUID = Guid()


_GUID_TEXT: Dict[bytes, str] = {}


def guid_str(raw: bytes) -> str:
    """Mixed-endian EFI_GUID bytes as text; the few GUIDs a stream repeats are remembered."""
    text = _GUID_TEXT.get(raw)
    if text is None:
        h = raw.hex()
        text = (h[6:8] + h[4:6] + h[2:4] + h[0:2] + "-" + h[10:12] + h[8:10] + "-" + h[14:16] + h[12:14]
                + "-" + h[16:20] + "-" + h[20:32])
        if len(_GUID_TEXT) < 4096:
            _GUID_TEXT[bytes(raw)] = text
    return text


def guid_bytes(value, path="") -> bytes:
    if isinstance(value, str):
        from ..guids import guid_by_name
        known = guid_by_name(value)
        if known:
            value = known
        try:
            return uuid.UUID(value).bytes_le
        except ValueError:
            pass
    raise SpecError(f"expected a GUID like 01234567-89ab-cdef-0123-456789abcdef, got {value!r}",
                    field=path)


class Text(FieldType):
    """Fixed-width text (FRU text, OEM ids). Trailing NULs are padding; other bytes survive as latin-1."""

    def __init__(self, size: int):
        self.size = size
        self.fmt = f"{size}s"

    def decode(self, vals):
        return vals[0].rstrip(b"\0").decode("latin-1")

    def decode_one(self, v):
        return v.rstrip(b"\0").decode("latin-1")

    def encode(self, value, path):
        if not isinstance(value, str):
            raise SpecError(f"expected text, got {value!r}", field=path)
        try:
            data = value.encode("latin-1")
        except UnicodeEncodeError:
            raise SpecError(f"{value!r} has characters outside latin-1", field=path) from None
        if len(data) > self.size:
            raise SpecError(f"{len(data)} characters do not fit in {self.size} bytes", field=path)
        return (data.ljust(self.size, b"\0"),)

    def default(self):
        return ""


class Enum(FieldType):
    """An integer whose known values read as names (model names, lower_snake); others stay ints."""

    def __init__(self, base: Int, names: Dict[int, str]):
        self.base, self.names = base, names
        self.fmt, self.size = base.fmt, base.size
        self.lookup = {v: k for k, v in names.items()}

    def decode(self, vals):
        v = self.base.decode(vals)
        return self.names.get(v, v)

    def decode_one(self, v):
        v = self.base.decode_one(v)
        return self.names.get(v, v)

    def encode(self, value, path):
        if isinstance(value, str) and value in self.lookup:
            return self.base.encode(self.lookup[value], path)
        if isinstance(value, str):
            norm = value.strip().lower().replace("-", "_").replace(" ", "_")
            if norm in self.lookup:
                return self.base.encode(self.lookup[norm], path)
            try:
                parse_int(value)
            except ValueError:
                raise SpecError(f"unknown value {value!r} (known: {', '.join(self.names.values())})",
                                field=path) from None
        return self.base.encode(value, path)


class Bits(FieldType):
    """An integer split into named bit ranges: [(name, low bit, width)]; the rest is 'reserved'."""

    def __init__(self, base: Int, parts: Sequence[Tuple[str, int, int]]):
        self.base, self.parts = base, list(parts)
        self.fmt, self.size = base.fmt, base.size
        self.mask = 0
        for _n, lo, w in self.parts:
            self.mask |= ((1 << w) - 1) << lo

        self.decode_one = self._compile()

    def _compile(self):
        """A generated dict display per bit layout (no per-bit loop on the hot path)."""
        conv = "int.from_bytes(v, 'little')" if self.base.odd else "v"
        items = [f"{name!r}: " + (f"(v >> {lo} & 1) == 1" if w == 1 else f"v >> {lo} & {(1 << w) - 1}")
                 for name, lo, w in self.parts]
        items.append(f"'reserved': v & {~self.mask & ((1 << 8 * self.size) - 1)}")
        src = f"def decode_one(v):\n    v = {conv}\n    return {{{', '.join(items)}}}\n"
        env = {}
        exec(compile(src, "<bits>", "exec"), env)
        return env["decode_one"]

    def decode(self, vals):
        return self.decode_one(vals[0])

    def encode(self, value, path):
        if not isinstance(value, dict):
            return self.base.encode(value, path)
        known = {n for n, _, _ in self.parts} | {"reserved"}
        extra = [k for k in value if k not in known]
        if extra:
            raise SpecError(f"unknown bit field(s) {extra} (known: {', '.join(sorted(known))})",
                            field=path)
        v = _int(value.get("reserved", 0), f"{path}.reserved", 8 * self.size)
        if v & self.mask:
            raise SpecError("'reserved' overlaps named bits", field=f"{path}.reserved")
        for name, lo, w in self.parts:
            f = _int(value.get(name, 0), f"{path}.{name}", w)
            v |= f << lo
        return self.base.encode(v, path)

    def default(self):
        return 0


class Array(FieldType):
    """n consecutive items of one type, as a list."""

    def __init__(self, item: FieldType, n: int):
        self.item, self.n = item, n
        self.fmt = item.fmt * n if item.nvals == 1 else "".join([item.fmt] * n)
        self.nvals = item.nvals * n
        self.size = item.size * n

    def decode(self, vals):
        k = self.item.nvals
        return [self.item.decode(vals[i * k:(i + 1) * k]) for i in range(self.n)]

    def encode(self, value, path):
        if not isinstance(value, list) or len(value) != self.n:
            raise SpecError(f"expected a list of {self.n} items", field=path)
        out = ()
        for i, v in enumerate(value):
            out += self.item.encode(v, f"{path}[{i}]")
        return out

    def default(self):
        return [self.item.default() for _ in range(self.n)]


class Layout(FieldType):
    """A fixed-size structure: [(name, FieldType[, valid bit])]. Nested Layouts are dicts.

    `valid_field` names the field whose bits gate the others (so renderers can mark fields not valid
    and builders can set the bits of the fields a spec gives)."""

    def __init__(self, title: str, ref: str, fields: List[tuple], valid_field: Optional[str] = None):
        self.title, self.ref = title, ref
        self.fields = [(f[0], f[1], f[2] if len(f) > 2 else None) for f in fields]
        self.valid_field = valid_field
        self.fmt = "".join(t.fmt for _n, t, _v in self.fields)
        self.nvals = sum(t.nvals for _n, t, _v in self.fields)
        self.struct = struct.Struct("<" + self.fmt)
        self.size = self.struct.size
        self.names = [n for n, _t, _v in self.fields]
        self.valid_bits = {n: v for n, _t, v in self.fields if v is not None}
        self.decode = self._compile()

    # -- decode -------------------------------------------------------------------------------
    def _compile(self):
        """One generated function per layout: a dict display over the unpacked values, so the hot
        path runs no per-field loop (the idea of construct's .compile(), for struct layouts)."""
        env, items, i = {}, [], 0
        for idx, (name, t, _v) in enumerate(self.fields):
            if isinstance(t, Int) and not t.odd:
                expr = f"vals[{i}]"
            elif t.nvals == 1:
                env[f"d{idx}"] = t.decode_one
                expr = f"d{idx}(vals[{i}])"
            else:
                env[f"d{idx}"] = t.decode
                expr = f"d{idx}(vals[{i}:{i + t.nvals}])"
            items.append(f"{name!r}: {expr}")
            i += t.nvals
        src = "def decode(vals):\n    return {" + ", ".join(items) + "}\n"
        exec(compile(src, f"<layout {self.title}>", "exec"), env)
        return env["decode"]

    def parse(self, data, offset: int = 0, path: str = "", what: str = "") -> dict:
        """Decode at `offset`; a short buffer is a DecodeError naming the field where it ends."""
        if len(data) - offset < self.size:
            cut = max(len(data) - offset, 0)
            raise DecodeError(f"{what or self.title} is cut short: it needs {self.size} bytes, "
                              f"{cut} remain", offset=offset + cut, field=self.field_at(cut, path))
        return self.decode(self.struct.unpack_from(data, offset))

    # -- encode -------------------------------------------------------------------------------
    def encode(self, value, path):
        if not isinstance(value, dict):
            raise SpecError(f"expected a mapping, got {value!r}", field=path)
        check_keys(value, self.names, path)
        out = ()
        for name, t, _v in self.fields:
            sub = f"{path}.{name}" if path else name
            v = value.get(name)
            if v is None:
                v = t.default()
            out += t.encode(v, sub)
        return out

    def build(self, value, path: str = "") -> bytes:
        value = self.with_valid_bits(value)
        try:
            return self.struct.pack(*self.encode(value, path))
        except struct.error as e:  # pragma: no cover - encode checks ranges first
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
        return {n: t.default() for n, t, _v in self.fields}

    def field_int(self, name: str, value) -> int:
        """The integer a field's model value (a bit-field dict, an enum name...) encodes to."""
        for n, t, _v in self.fields:
            if n == name:
                return t.encode(value, name)[0]
        raise KeyError(name)

    # -- offsets ------------------------------------------------------------------------------
    def offsets(self) -> Dict[str, int]:
        pos, out = 0, {}
        for name, t, _v in self.fields:
            out[name] = pos
            pos += t.size
        return out

    def field_at(self, rel: int, prefix: str = "") -> str:
        """The dotted path of the innermost field covering byte `rel`."""
        pos = 0
        for name, t, _v in self.fields:
            path = f"{prefix}.{name}" if prefix else name
            if pos <= rel < pos + t.size:
                if isinstance(t, Layout):
                    return t.field_at(rel - pos, path)
                return path
            pos += t.size
        return prefix or (self.fields[-1][0] if self.fields else "")

    def is_valid(self, model: dict, name: str) -> bool:
        """Whether a gated field's validation bit is set in a decoded model (ungated: always)."""
        bit = self.valid_bits.get(name)
        if bit is None or not self.valid_field:
            return True
        bits = model.get(self.valid_field, 0)
        if isinstance(bits, dict):
            return True
        return bool(parse_int(bits) >> bit & 1)
