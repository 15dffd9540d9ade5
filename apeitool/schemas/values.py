"""Spec value helpers shared by the construct schemas and the CPER layouts. Kept free of construct
so that the table path does not pay for what the CPER path needs and the other way round."""
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


def _not_json(name):
    raise ValueError(f"{name} is not JSON")


def loads_json(text):
    """json.loads, refusing the NaN/Infinity literals Python accepts and JSON does not (ValueError,
    as for an integer too long to convert)."""
    import json
    return json.loads(text, parse_constant=_not_json)


def value_error_text(e: ValueError) -> str:
    """What a ValueError from loading a spec or an event says, in one line: Python's refusal of an
    integer of more than 4300 digits names a setting nobody here can change."""
    text = str(e)
    return "an integer of more than 4300 digits" if "digits" in text else text.splitlines()[0]
