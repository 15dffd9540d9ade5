"""Field types shared by every schema: named enums, bit flags, fixed-width names, odd-width integers.

Each adapter keeps every bit of its field, so build(parse(x)) == x even for reserved and unknown values.
A field's iasl label is its construct docstring (`"name" / Type * "iasl label"`).
"""
from __future__ import annotations

import re

from construct import Adapter, BytesInteger, Bytes, MappingError, Renamed

from .. import names as _names
from .values import parse_int  # noqa: F401  (re-exported: the schemas import it from here)


def _norm(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


class NamedEnum(Adapter):
    """An integer whose known values decode to upper-snake names; unknown values stay integers."""

    def __init__(self, subcon, kind: str):
        super().__init__(subcon)
        self.kind = kind
        self.names, aliases, _spec = _names.ENUMS[kind]
        self.lookup = {_norm(v): k for k, v in self.names.items()}
        self.lookup.update({_norm(k): v for k, v in aliases.items()})
        self.lookup.update({_norm(v): k for k, v in _spec.items()})

    def _decode(self, obj, context, path):
        return self.names.get(obj, obj)

    def to_int(self, obj):
        if isinstance(obj, str):
            key = _norm(obj)
            if key in self.lookup:
                return self.lookup[key]
            try:
                return parse_int(obj)
            except ValueError:
                known = ", ".join(self.names.values())
                raise ValueError(f"unknown {self.kind.replace('_', ' ')} {obj!r} (known: {known})")
        return parse_int(obj, self.kind)

    def _encode(self, obj, context, path):
        try:
            return self.to_int(obj)
        except ValueError as e:
            raise MappingError(str(e), path=path)


class BitFlags(Adapter):
    """A little-endian flags field decoded to named booleans plus the raw value of the other bits.

    bits: list of (model name, bit number, iasl label or None[, bit iasl shows under that label]).
    """

    def __init__(self, subcon, bits):
        super().__init__(subcon)
        self.iasl_bits = [(b[2], b[3] if len(b) > 3 else b[1]) for b in bits if b[2]]
        self.bits = [tuple(b[:3]) for b in bits]
        self.known_mask = 0
        for _name, bit, _label in self.bits:
            self.known_mask |= 1 << bit

    def _decode(self, obj, context, path):
        out = {name: bool(obj >> bit & 1) for name, bit, _ in self.bits}
        out["reserved"] = obj & ~self.known_mask
        return out

    def _encode(self, obj, context, path):
        if not isinstance(obj, dict):
            try:
                return parse_int(obj, "flags")
            except ValueError as e:
                raise MappingError(str(e), path=path)
        unknown = set(obj) - {n for n, _, _ in self.bits} - {"reserved"}
        if unknown:
            raise MappingError(f"unknown flag(s) {sorted(unknown)} (known: "
                               f"{', '.join(n for n, _, _ in self.bits)}, reserved)", path=path)
        try:
            value = parse_int(obj.get("reserved", 0), "reserved")
        except ValueError as e:
            raise MappingError(str(e), path=path)
        if value & self.known_mask:
            raise MappingError("'reserved' overlaps named flag bits", path=path)
        for name, bit, _ in self.bits:
            if obj.get(name):
                value |= 1 << bit
        return value


class FixedName(Adapter):
    """A fixed-width ASCII name (OEM ID, signature). Trailing NULs are padding; other bytes are kept
    as latin-1 characters so any byte survives the round trip."""

    def __init__(self, length: int):
        super().__init__(Bytes(length))
        self.length = length

    def _decode(self, obj, context, path):
        return obj.rstrip(b"\0").decode("latin-1")

    def _encode(self, obj, context, path):
        if not isinstance(obj, str):
            raise MappingError(f"expected a string of at most {self.length} characters, got {obj!r}",
                               path=path)
        try:
            data = obj.encode("latin-1")
        except UnicodeEncodeError:
            raise MappingError(f"{obj!r} has characters outside latin-1", path=path)
        if len(data) > self.length:
            raise MappingError(f"{obj!r} is longer than {self.length} characters", path=path)
        return data.ljust(self.length, b"\0")


def show_name(value) -> str:
    """A header name as a reader can see it: printable ASCII as is, any other byte as \\xNN
    (a str holds latin-1 characters, one per byte; bytes are taken as they are)."""
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in value)


class LenientInt(Adapter):
    """An integer field that also accepts '0x..' strings when building."""

    def _decode(self, obj, context, path):
        return obj

    def _encode(self, obj, context, path):
        try:
            value = parse_int(obj)
        except ValueError as e:
            raise MappingError(str(e), path=path)
        limit = 1 << (8 * self.subcon.sizeof())
        if not 0 <= value < limit:
            raise MappingError(f"{value} does not fit in {self.subcon.sizeof()} byte(s)", path=path)
        return value


def U(width: int):
    """Unsigned little-endian integer of any byte width (3- and 7-byte reserved fields included)."""
    from construct import Int8ul, Int16ul, Int32ul, Int64ul
    base = {1: Int8ul, 2: Int16ul, 4: Int32ul, 8: Int64ul}.get(width) or BytesInteger(width, swapped=True)
    return LenientInt(base)


U8, U16, U32, U64 = U(1), U(2), U(4), U(8)


def unwrap(subcon):
    """The innermost construct under Renamed wrappers."""
    while isinstance(subcon, Renamed):
        subcon = subcon.subcon
    return subcon


def leaf(subcon):
    """The construct doing the work under Renamed/Default wrappers (what renderers dispatch on)."""
    from construct import Default
    inner = unwrap(subcon)
    while isinstance(inner, Default):
        inner = unwrap(inner.subcon)
    return inner


def struct_offset(struct, field_name: str) -> int:
    """Byte offset of a named field within a fixed-size Struct."""
    pos = 0
    for sc in struct.subcons:
        if sc.name == field_name:
            return pos
        pos += sc.sizeof()
    raise KeyError(field_name)


def fields(struct):
    """(name, subcon, iasl label) for each named field of a Struct, in layout order."""
    out = []
    for sc in struct.subcons:
        out.append((sc.name, sc, getattr(sc, "docs", "") or ""))
    return out
