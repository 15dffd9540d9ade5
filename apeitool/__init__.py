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


CPER_KINDS = ("cper", "estatus")


def decode_bytes(data: bytes, label: str = "<bytes>", table: Optional[str] = None,
                 kind: Optional[str] = None, form: Optional[str] = None) -> List[Decoded]:
    """Decode `data`: ACPI tables (raw, acpidump text, hex dumps), or CPER records, error status
    blocks and descriptor+body sections (raw or hex). `kind` 'cper'/'estatus' or `form`
    ('record', 'section', 'estatus') skip the table detection."""
    from .inputs import _is_text, parse_text, select_tables, signature_like, split_input
    from .tables import looks_like_table
    data = bytes(data)
    acpi_like = looks_like_table(data) or signature_like(data) and data[:4] != b"CPER"
    if kind in CPER_KINDS or form or table is None and not acpi_like:
        blobs = [data]
        if _is_text(data) and data.strip():
            blobs = [item.data for item in parse_text(data.decode("utf-8", "replace"), label)]
        if kind in CPER_KINDS or form or not any(looks_like_table(b) for b in blobs):
            if kind == "estatus" and form is None:
                form = "estatus"
            return [_decode_cper(b, label, form) for b in blobs]
    return _decode_items(select_tables(split_input(data, label), table, label))


def _decode_cper(data: bytes, label: str, form: Optional[str]) -> Decoded:
    from .cper import decode_document
    doc, warnings = decode_document(data, form, label)
    return Decoded(label, "estatus" if doc["form"] == "estatus" else "cper", doc, data, warnings)


def decode(path: Union[str, bytes], table: Optional[str] = None, kind: Optional[str] = None,
           form: Optional[str] = None) -> List[Decoded]:
    """Decode a file path ('-' for stdin, sysfs paths welcome) or raw bytes."""
    if isinstance(path, (bytes, bytearray)):
        return decode_bytes(path, table=table, kind=kind, form=form)
    from .inputs import read_bytes
    label = "<stdin>" if path == "-" else path
    return decode_bytes(read_bytes(path), label, table, kind, form)


def iter_cper(data: bytes, form: Optional[str] = None, label: str = "<bytes>"):
    """Iterate (model, warnings) over the records/blocks/sections of a CPER file, lazily."""
    from .cper import iter_items, resolve_form
    form = resolve_form(data, form, label)
    for model, warnings, _pos, _len in iter_items(data, form, label):
        yield model, warnings


def build(spec: dict, kind: Optional[str] = None, fix_lengths: bool = False,
          warnings: Optional[list] = None) -> bytes:
    """Build a table, CPER record/section document or status block from its model/spec.
    `kind` ('hest', ..., 'cper', 'estatus') is needed when the spec does not say. Tables: given
    lengths/counts that contradict the structures are appended to `warnings`; `fix_lengths`
    derives them again."""
    if kind in CPER_KINDS:
        from .cper import build_document
        return build_document(spec, "estatus" if kind == "estatus" else None)
    from .tables import build_table
    return build_table(spec, kind.upper() if kind else None, fix_lengths, warnings)
