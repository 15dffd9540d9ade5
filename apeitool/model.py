"""The plain-data model: construct results become dicts/lists/ints/strs (JSON-able) and back.

parse_fixed/build_fixed wrap construct so that every failure names a byte offset and a field path.
"""
from __future__ import annotations

import re

from construct import ConstructError, Container, ListContainer

from .errors import DecodeError, SpecError
from .schemas.common import fields, unwrap
from .schemas.values import check_keys


def to_plain(obj):
    """construct Containers -> plain dicts (private '_' keys dropped), str subclasses -> str."""
    if isinstance(obj, (Container, dict)):
        return {k: to_plain(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (ListContainer, list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, int):
        return int(obj)
    return obj


def field_at(struct, rel: int, prefix: str = "") -> str:
    """The dotted path of the (innermost) field of a fixed-size Struct that covers byte `rel`."""
    pos = 0
    for name, sc, _doc in fields(struct):
        size = sc.sizeof()
        if pos <= rel < pos + size:
            inner = unwrap(sc)
            sub = getattr(inner, "subcon", None)
            target = inner if hasattr(inner, "subcons") else sub if hasattr(sub, "subcons") else None
            path = f"{prefix}.{name}" if prefix else name
            if target is not None:
                return field_at(target, rel - pos, path)
            return path
        pos += size
    return prefix


def parse_fixed(struct, data, offset: int, path: str, what: str):
    """Parse a fixed-size Struct at `offset` of `data`; a short buffer names the field where it ends."""
    size = struct.sizeof()
    remain = len(data) - offset
    if remain < size:
        cut = max(remain, 0)
        raise DecodeError(f"table ends inside {what}: it needs {size} bytes from 0x{offset:X}, "
                          f"{cut} remain", offset=offset + cut, field=field_at(struct, cut, path))
    try:
        return to_plain(struct.parse(bytes(data[offset:offset + size])))
    except ConstructError as e:  # pragma: no cover - fixed-size parses of enough bytes do not fail
        raise DecodeError(f"cannot decode {what}: {e}", offset=offset, field=path)


_PATH_RE = re.compile(r"\(building\)((?: -> [^ ]+)*)")


def _construct_path(err: ConstructError) -> str:
    path = getattr(err, "path", None) or ""
    m = _PATH_RE.search(path)
    if not m:
        return ""
    parts = []
    for p in m.group(1).split(" -> "):
        if p and (not parts or parts[-1] != p):  # nested Renamed wrappers repeat a name
            parts.append(p)
    return ".".join(parts)


def _message(err: ConstructError) -> str:
    text = str(err)
    # construct prefixes messages with "Error in path ...\n"; keep the last line only
    return text.strip().splitlines()[-1]


def build_fixed(struct, obj, path: str) -> bytes:
    """Build a Struct from a plain dict; errors become SpecError naming the spec path."""
    if not isinstance(obj, dict):
        raise SpecError(f"expected a mapping, got {type(obj).__name__}", field=path)
    obj = _complete(struct, obj, path)
    try:
        return struct.build(obj)
    except ConstructError as e:
        inner = _construct_path(e)
        full = ".".join(p for p in (path, inner) if p)
        raise SpecError(_message(e), field=full) from None
    except (KeyError, ValueError, TypeError, OverflowError) as e:
        raise SpecError(f"cannot build: {e!r}", field=path) from None


def _complete(struct, obj: dict, path: str) -> dict:
    """Check a spec mapping against a Struct: unknown keys and missing required fields (those with
    no default) are errors naming their path; omitted nested structures are filled from defaults."""
    from construct import Default
    names = [name for name, _sc, _doc in fields(struct)]
    check_keys(obj, names, path)
    out = dict(obj)
    for name, sc, _doc in fields(struct):
        inner = unwrap(sc)
        sub_path = f"{path}.{name}" if path else name
        nested = hasattr(inner, "subcons")
        if name not in obj or obj[name] is None:
            if nested:
                out[name] = _complete(inner, {}, sub_path)
            elif not isinstance(inner, Default):
                raise SpecError("missing required field", field=sub_path)
            else:
                out.pop(name, None)
            continue
        if nested:
            if not isinstance(obj[name], dict):
                raise SpecError(f"expected a mapping, got {obj[name]!r}", field=sub_path)
            out[name] = _complete(inner, obj[name], sub_path)
    return out
