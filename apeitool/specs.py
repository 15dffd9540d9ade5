"""Loading build specs: YAML or JSON, from a file or stdin; errors name the line and column."""
from __future__ import annotations

import json

from .errors import SpecError
from .inputs import read_bytes


def parse_spec_text(text: str, label: str):
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", source=label)
    import yaml
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError(f"invalid YAML{where}: {problem}", source=label)


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
