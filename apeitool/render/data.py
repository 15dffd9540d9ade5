"""JSON and YAML output of the plain-data model (both are valid build specs)."""
from __future__ import annotations


def to_json(obj) -> str:
    from .jsonenc import indented
    return indented(obj) + "\n"


def to_yaml(obj) -> str:
    import yaml

    # libyaml's emitter when PyYAML has it (~5x faster, the same text), else the Python one
    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        pass

    def represent_int(dumper, value):
        # addresses and masks read better in hex; YAML 1.1 loads 0x.. back as an int
        text = f"0x{value:X}" if value > 0xFFFF else str(value)
        return dumper.represent_scalar("tag:yaml.org,2002:int", text)

    Dumper.add_representer(int, represent_int)
    return yaml.dump(obj, Dumper=Dumper, sort_keys=False, default_flow_style=False, allow_unicode=False)
