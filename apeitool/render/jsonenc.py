"""JSON text of models: orjson when it is installed (`pip install 'apeitool[fast]'`), else the
standard library, and the same bytes either way.

orjson encodes ~3x faster, which is half of `decode -f jsonl`'s time. Where its output would differ
from json.dumps (ensure_ascii: json escapes every character outside 0x20-0x7E; integers beyond
64 bits, which orjson refuses) the standard library does that object.
"""
from __future__ import annotations

import json

try:
    import orjson
except ImportError:          # the optional 'fast' extra
    orjson = None

_compact = json.JSONEncoder(separators=(",", ":")).encode   # one encoder, not one per call


def _plain_ascii(data: bytes) -> bool:
    return data.isascii() and b"\x7f" not in data


def compact(obj) -> bytes:
    """json.dumps(obj, separators=(",", ":")) as bytes."""
    if orjson is not None:
        try:
            data = orjson.dumps(obj)
        except TypeError:
            data = None
        if data is not None and _plain_ascii(data):
            return data
    return _compact(obj).encode()


def indented(obj) -> str:
    """json.dumps(obj, indent=2)."""
    if orjson is not None:
        try:
            data = orjson.dumps(obj, option=orjson.OPT_INDENT_2)
        except TypeError:
            data = None
        if data is not None and _plain_ascii(data):
            return data.decode()
    return json.dumps(obj, indent=2)


def backend() -> str:
    return "orjson " + orjson.__version__ if orjson is not None else "json (standard library)"
