"""Spec value helpers shared by the construct schemas and the CPER layouts. Kept free of construct
so that the CPER path (schemas/layout.py) does not pay for importing it."""
from __future__ import annotations


def parse_int(value, what="value"):
    """Accept ints, and strings like '0x1F', '31', '0b101' (as YAML/JSON specs write them)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            return int(text, 0)
        except ValueError:
            pass
    raise ValueError(f"{what}: expected an integer, got {value!r}")


def check_keys(obj: dict, allowed, path: str):
    """Reject misspelt spec keys instead of silently ignoring them."""
    from ..errors import SpecError
    extra = [k for k in obj if k not in allowed]
    if extra:
        raise SpecError(f"unknown field(s) {', '.join(map(repr, extra))} "
                        f"(known: {', '.join(allowed)})", field=path)
