"""construct field types of the CPER schemas (schemas/cper.py, schemas/sections.py).

Each adapter is both a construct Adapter (so `Struct.parse`/`build` work for library users) and
the conversion the generated fast path (schemas/fast.py) calls on the raw value of one
`struct.unpack`: `fmt` is its struct format, `decode_one(raw)` and `encode_raw(value, path)`
convert, `default()` is what an omitted field builds as. Every bit survives: reserved bits,
unknown enum values, non-ASCII text and invalid timestamps all round-trip.

`Valid(bit, subcon)` marks a field gated by bit `bit` of its structure's validation field: it
parses and builds exactly like `subcon` (the bytes are there either way); renderers dim a field
whose bit is clear and builders set the bits of the fields a spec gives.
"""
from __future__ import annotations

import re
from typing import Dict, Optional, Sequence, Tuple

from construct import Adapter, Bytes, GreedyBytes, MappingError, Subconstruct

from ..errors import SpecError
from .values import parse_int

__all__ = ["Valid", "Hex", "Guid", "SectionType", "Text", "Names", "BitFields", "Timestamp",
           "hex_bytes", "guid_str", "guid_bytes", "int_value"]


def int_value(value, path: str, bits: int) -> int:
    """A spec's integer (int or '0x..' text) that must fit in `bits` bits."""
    try:
        v = parse_int(value, "value")
    except ValueError as e:
        raise SpecError(str(e), field=path) from None
    if not 0 <= v < (1 << bits):
        raise SpecError(f"{v:#x} does not fit in {bits} bits", field=path)
    return v


class Valid(Subconstruct):
    """A field present in the bytes whose meaning is gated by validation bit `bit`."""

    def __init__(self, bit: int, subcon):
        super().__init__(subcon)
        self.bit = bit

    def _parse(self, stream, context, path):
        return self.subcon._parsereport(stream, context, path)

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, path)


class FastField(Adapter):
    """An adapter the fast path can call without construct: see the module docstring."""
    fmt = ""
    size = 0

    def decode_one(self, raw):
        raise NotImplementedError

    def encode_raw(self, value, path: str):
        raise NotImplementedError

    def default(self):
        return 0

    def inline(self, raw: str, env: dict, key: str) -> str:
        """A Python expression decoding `raw` for the generated fast path (names it needs go into
        `env` under names starting with `key`); by default a call of decode_one."""
        env[key] = self.decode_one
        return f"{key}({raw})"

    def _decode(self, obj, context, path):
        return self.decode_one(obj)

    def _encode(self, obj, context, path):
        try:
            return self.encode_raw(obj, path or "")
        except SpecError as e:
            raise MappingError(str(e), path=path) from None


def _fmt_of(subcon) -> Tuple[str, int]:
    """struct format and size of a fixed integer construct or Bytes(n)."""
    fmt = getattr(subcon, "fmtstr", None)
    if fmt:
        return fmt.lstrip("<>=!"), subcon.sizeof()
    n = subcon.sizeof()
    return f"{n}s", n


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


class Hex(FastField):
    """Opaque bytes as a lower-case hex string (reserved areas, register dumps, vendor blobs).
    Hex(n) is fixed; Hex(this.field) takes its length from a field; Hex() takes every byte left."""

    def __init__(self, length=None):
        super().__init__(GreedyBytes if length is None else Bytes(length))
        self.fixed = isinstance(length, int)
        self.size = length if self.fixed else 0
        self.fmt = f"{length}s" if self.fixed else ""
        self.length = length

    def decode_one(self, raw):
        return raw.hex()

    def inline(self, raw, env, key):
        return f"{raw}.hex()"

    def encode_raw(self, value, path):
        return hex_bytes(value, path, self.size if self.fixed else None)

    def default(self):
        return "00" * self.size


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
        import uuid
        try:
            return uuid.UUID(value).bytes_le
        except ValueError:
            pass
    raise SpecError(f"expected a GUID like 01234567-89ab-cdef-0123-456789abcdef, got {value!r}",
                    field=path)


class Guid(FastField):
    """An EFI_GUID (mixed-endian) as its standard lower-case text."""
    fmt, size = "16s", 16

    def __init__(self):
        super().__init__(Bytes(16))

    def decode_one(self, raw):
        return guid_str(raw)

    def inline(self, raw, env, key):
        env[key], env[key + "c"] = guid_str, _GUID_TEXT
        return f"({key}c.get({raw}) or {key}({raw}))"

    def encode_raw(self, value, path):
        return guid_bytes(value, path)

    def default(self):
        return "00000000-0000-0000-0000-000000000000"


class SectionType(Guid):
    """A section type GUID; known ones read as their model key ('platform_memory')."""

    def __init__(self):
        super().__init__()
        from ..guids import SECTION_KEY_BY_GUID, SECTION_TYPES
        self.by_guid, self.types = SECTION_KEY_BY_GUID, SECTION_TYPES
        self.cache: Dict[bytes, str] = {}

    def decode_one(self, raw):
        key = self.cache.get(raw)
        if key is None:
            g = guid_str(raw)
            key = self.by_guid.get(g, g)
            if len(self.cache) < 4096:
                self.cache[bytes(raw)] = key
        return key

    def inline(self, raw, env, key):
        env[key], env[key + "c"] = self.decode_one, self.cache
        return f"({key}c.get({raw}) or {key}({raw}))"

    def encode_raw(self, value, path):
        if isinstance(value, str) and value in self.types:
            value = self.types[value][0]
        return guid_bytes(value, path)


class Text(FastField):
    """Fixed-width text (FRU text, signatures). Trailing NULs are padding; other bytes survive as
    latin-1 characters."""

    def __init__(self, length: int):
        super().__init__(Bytes(length))
        self.size, self.fmt = length, f"{length}s"

    def decode_one(self, raw):
        return raw.rstrip(b"\0").decode("latin-1")

    def inline(self, raw, env, key):
        return f"{raw}.rstrip(b'\\x00').decode('latin-1')"

    def encode_raw(self, value, path):
        if not isinstance(value, str):
            raise SpecError(f"expected text, got {value!r}", field=path)
        try:
            data = value.encode("latin-1")
        except UnicodeEncodeError:
            raise SpecError(f"{value!r} has characters outside latin-1", field=path) from None
        if len(data) > self.size:
            raise SpecError(f"{len(data)} characters do not fit in {self.size} bytes", field=path)
        return data.ljust(self.size, b"\0")

    def default(self):
        return ""


class Names(FastField):
    """An integer whose known values read as model names (lower_snake); other values stay ints."""

    def __init__(self, subcon, names: Dict[int, str]):
        super().__init__(subcon)
        self.fmt, self.size = _fmt_of(subcon)
        self.names = names
        self.lookup = {v: k for k, v in names.items()}

    def decode_one(self, raw):
        return self.names.get(raw, raw)

    def inline(self, raw, env, key):
        env[key] = self.names
        return f"{key}.get({raw}, {raw})"

    def encode_raw(self, value, path):
        if isinstance(value, str):
            norm = value.strip().lower().replace("-", "_").replace(" ", "_")
            if value in self.lookup or norm in self.lookup:
                return self.lookup.get(value, self.lookup.get(norm))
            try:
                parse_int(value)
            except ValueError:
                raise SpecError(f"unknown value {value!r} (known: {', '.join(self.names.values())})",
                                field=path) from None
        return int_value(value, path, 8 * self.size)


class BitFields(FastField):
    """An integer split into named bit ranges [(name, low bit, width)]; the other bits are kept
    as 'reserved'. One-bit fields read as booleans."""

    def __init__(self, subcon, parts: Sequence[Tuple[str, int, int]]):
        super().__init__(subcon)
        self.fmt, self.size = _fmt_of(subcon)
        self.parts = list(parts)
        self.mask = 0
        for _n, lo, w in self.parts:
            self.mask |= ((1 << w) - 1) << lo
        self.decode_one = self._generate()

    def _generate(self):
        """A generated dict display per bit layout (no per-bit loop on the hot path)."""
        items = [f"{name!r}: " + (f"(v >> {lo} & 1) == 1" if w == 1 else f"v >> {lo} & {(1 << w) - 1}")
                 for name, lo, w in self.parts]
        items.append(f"'reserved': v & {~self.mask & ((1 << 8 * self.size) - 1)}")
        env: dict = {}
        exec(compile(f"def decode_one(v):\n    return {{{', '.join(items)}}}\n", "<bits>", "exec"), env)
        return env["decode_one"]

    def pack_decoded(self, value: dict) -> int:
        """The integer of a dict this adapter decoded (every part present, in range)."""
        v = value["reserved"]
        for name, lo, _w in self.parts:
            v |= int(value[name]) << lo
        return v

    def encode_raw(self, value, path):
        if not isinstance(value, dict):
            return int_value(value, path, 8 * self.size)
        known = {n for n, _, _ in self.parts} | {"reserved"}
        extra = [k for k in value if k not in known]
        if extra:
            raise SpecError(f"unknown bit field(s) {extra} (known: {', '.join(sorted(known))})",
                            field=path)
        v = int_value(value.get("reserved", 0), f"{path}.reserved", 8 * self.size)
        if v & self.mask:
            raise SpecError("'reserved' overlaps named bits", field=f"{path}.reserved")
        for name, lo, w in self.parts:
            v |= int_value(value.get(name, 0), f"{path}.{name}", w) << lo
        return v


_TS = re.compile(r"^(\d\d)(\d\d)-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)( precise)?$")
_NOT_BCD = bytes(0 if x >> 4 < 10 and x & 0xF < 10 else 1 for x in range(256))   # translate table
_ZERO8 = bytes(8)


class Timestamp(FastField):
    """UEFI 2.10 N.2.1 timestamp: BCD seconds, minutes, hours, flags (bit 0 precise), day, month,
    year, century. Valid BCD reads as 'CCYY-MM-DDThh:mm:ss[ precise]'; anything else is a u64."""
    fmt, size = "8s", 8

    def __init__(self):
        super().__init__(Bytes(8))

    def decode_one(self, b):
        if b == _ZERO8:
            return 0
        bad = b.translate(_NOT_BCD)
        if b[3] < 2 and bad[:3] == b"\0\0\0" and bad[4:] == b"\0\0\0\0":
            s, mi, h, fl, d, mo, y, c = b
            text = f"{c:02x}{y:02x}-{mo:02x}-{d:02x}T{h:02x}:{mi:02x}:{s:02x}"
            return text + (" precise" if fl else "")
        return int.from_bytes(b, "little")

    def encode_raw(self, value, path):
        if isinstance(value, str):
            m = _TS.match(value.strip())
            if m:
                c, y, mo, d, h, mi, s = (int(x, 16) for x in m.groups()[:7])
                return bytes([s, mi, h, 1 if m.group(8) else 0, d, mo, y, c])
        try:
            return int_value(value, path, 64).to_bytes(8, "little")
        except SpecError:
            raise SpecError(f"expected a timestamp like '2026-11-21T10:00:00' (add ' precise' "
                            f"for a precise one) or a u64, got {value!r}", field=path) from None

    @staticmethod
    def iso(value):
        """'CCYY-MM-DDThh:mm:ss' text and precision, or None for a raw/zero timestamp."""
        if isinstance(value, str):
            return value.split(" ")[0], value.endswith(" precise")
        return None
