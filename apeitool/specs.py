"""Loading build specs: YAML or JSON, from a file or stdin; errors name the line and column."""
from __future__ import annotations

import json

from .errors import SpecError
from .schemas.values import loads_json, value_error_text
from .inputs import read_bytes


MAX_DEPTH = 64   # specs are a few levels deep; deeper is garbage (and blows the parsers' recursion)


def _nesting_depth(text: str) -> int:
    """Brackets/braces open at once (JSON, YAML flow style), outside strings: checked before a
    parser recurses into them."""
    depth = most = 0
    quote = None
    escaped = False
    for c in text:
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
            most = max(most, depth)
        elif c in "]}":
            depth -= 1
    return most


def parse_spec_text(text: str, label: str):
    if _nesting_depth(text) > MAX_DEPTH:
        raise SpecError(f"nested more than {MAX_DEPTH} levels deep: not a spec", source=label)
    stripped = text.lstrip()
    try:
        if stripped.startswith(("{", "[")):
            try:
                spec = loads_json(text)
            except json.JSONDecodeError as e:
                raise SpecError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", source=label)
        else:
            spec = _yaml(text, label)
    except RecursionError:
        raise SpecError(f"nested more than {MAX_DEPTH} levels deep: not a spec", source=label) from None
    except ValueError as e:   # NaN/Infinity, an integer Python refuses to convert
        what = value_error_text(e)
        if "digits" in what:
            what += " (no field is that wide)"
        raise SpecError(f"invalid value: {what}", source=label) from None
    if _depth(spec) > MAX_DEPTH:   # YAML block style nests by indentation
        raise SpecError(f"nested more than {MAX_DEPTH} levels deep: not a spec", source=label)
    return spec


def _yaml(text: str, label: str):
    import yaml
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(f"invalid YAML{where}: {problem}", source=label)


def _depth(obj) -> int:
    """Nesting depth of parsed data, without recursion."""
    most, todo = 0, [(obj, 1)]
    while todo:
        item, d = todo.pop()
        if isinstance(item, (dict, list)):
            most = max(most, d)
            if d > MAX_DEPTH:
                return d
            todo.extend((v, d + 1) for v in (item.values() if isinstance(item, dict) else item))
    return most


def load_spec(path: str):
    label = "<stdin>" if path == "-" else path
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"not UTF-8 text (byte 0x{data[e.start]:02X} at offset {e.start}); "
                        f"a spec is YAML or JSON", source=label)
    spec = parse_spec_text(text, label)
    if spec is None:
        raise SpecError("empty spec", source=label)
    return spec


def single_table_spec(spec, label: str):
    """decode --format json of one input may be a list (acpidump); build takes exactly one table."""
    if isinstance(spec, list):
        if len(spec) != 1:
            raise SpecError(f"the spec holds {len(spec)} tables; build takes one", source=label)
        spec = spec[0]
    if not isinstance(spec, dict):
        raise SpecError(f"a table spec is a mapping, got {type(spec).__name__}", source=label)
    return spec
