"""apeitool: ACPI Platform Error Interfaces (HEST, BERT, EINJ, ERST) and UEFI CPER records.

Library API (the CLI is a thin layer over it):

    import apeitool
    for t in apeitool.decode("/sys/firmware/acpi/tables/HEST"):
        print(t.label, t.model["sources"][0]["notify"]["type"], t.warnings)
    raw = apeitool.build({"sources": [{"type": "GHES_V2", "source_id": 0, "notify": {"type": "SEA"}}]},
                         kind="hest")
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Union

__version__ = "0.1.0"

__all__ = ["decode", "decode_bytes", "build", "Decoded", "__version__"]


@dataclass
class Decoded:
    """One decoded table: where it came from, its model (plain dicts) and what was odd about it."""
    label: str
    kind: str
    model: dict
    data: bytes
    warnings: List = field(default_factory=list)


def _decode_items(items) -> List[Decoded]:
    from .errors import ApeiError
    from .tables import decode_table
    out = []
    for item in items:
        try:
            model, warnings = decode_table(item.data)
        except ApeiError as e:
            raise e.with_source(item.label)
        for w in warnings:
            w.source = item.label
        out.append(Decoded(item.label, model["header"]["signature"].lower(), model,
                           item.data[:model["header"]["length"]], warnings))
    return out


def decode_bytes(data: bytes, label: str = "<bytes>", table: Optional[str] = None) -> List[Decoded]:
    """Decode every supported table in `data` (raw table, acpidump text or hex dump)."""
    from .inputs import select_tables, split_input
    return _decode_items(select_tables(split_input(bytes(data), label), table, label))


def decode(path: Union[str, bytes], table: Optional[str] = None) -> List[Decoded]:
    """Decode a file path ('-' for stdin, sysfs paths welcome) or raw bytes."""
    if isinstance(path, (bytes, bytearray)):
        return decode_bytes(path, table=table)
    from .inputs import read_input
    return _decode_items(read_input(path, table))


def build(spec: dict, kind: Optional[str] = None) -> bytes:
    """Build a table from its model/spec. `kind` ('hest', ...) is needed when the spec has no signature."""
    from .tables import build_table
    return build_table(spec, kind.upper() if kind else None)
