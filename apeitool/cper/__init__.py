"""CPER records, error status blocks and descriptor+body sections as documents.

A file holds one form: concatenated CPER records, concatenated Generic Error Status Blocks (a GHES
block or a BERT boot error region, zero padding after the last one allowed), or one or more
descriptor+body sections (libcper's "single section" files). The document model is
{"form": "record"|"estatus"|"section", "records"|"blocks"|"sections": [...][, "padding": n]}.
"""
from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ..errors import DecodeError, DecodeWarning, InputError, SpecError
from ..guids import SECTION_KEY_BY_GUID
from ..schemas.cper_fields import guid_str, hex_bytes
from .estatus import BLOCK_HEADER, build_block, decode_block
from .record import DESCRIPTOR_SIZE, build_record, build_section_form, decode_record, \
    decode_section_form

FORMS = {"record": "records", "estatus": "blocks", "section": "sections"}
_DECODERS = {"record": decode_record, "estatus": decode_block, "section": decode_section_form}
_BUILDERS = {"record": build_record, "estatus": build_block, "section": build_section_form}


def detect_form(data: bytes) -> Optional[str]:
    """'record' for a CPER signature; 'section' for a descriptor whose body follows it at offset 72;
    'estatus' for a plausible status block; None if nothing fits."""
    if data[:4] == b"CPER":
        return "record"
    if len(data) >= DESCRIPTOR_SIZE:
        off = int.from_bytes(data[0:4], "little")
        length = int.from_bytes(data[4:8], "little")
        guid = guid_str(data[16:32])
        if off == DESCRIPTOR_SIZE and 0 < length <= len(data) - off and (
                guid in SECTION_KEY_BY_GUID or off + length == len(data)):
            return "section"
    if len(data) >= BLOCK_HEADER:
        dlen = int.from_bytes(data[12:16], "little")
        if BLOCK_HEADER + dlen <= len(data) and (dlen == 0 or dlen >= 64):
            return "estatus"
    return None


def iter_items(data: bytes, form: str, label: str = "<bytes>", base: int = 0, first: int = 0
               ) -> Iterator[Tuple[dict, List[DecodeWarning], int, int]]:
    """Yield (model, warnings, offset, length) for each record/block/section in `data`, lazily.

    Stops at the end, or (status blocks) at trailing zero padding; a block whose status and lengths
    are all zero ends the walk too, as in Linux's BERT walk. `data` may be a window of a larger
    file starting at file offset `base` with item number `first`: errors and warnings then name
    file offsets and item numbers."""
    decode = _DECODERS[form]
    key = FORMS[form]
    pos, i = 0, first
    n = len(data)
    while pos < n:
        if form == "estatus":
            if n - pos < BLOCK_HEADER or not any(data[pos:pos + 16]):
                return
        elif form == "record" and data[pos:pos + 4] != b"CPER" and not any(data[pos:]):
            return   # zero padding after the last record (checked only where no record starts)
        try:
            model, warnings, length = decode(data, pos, f"{key}[{i}]")
        except DecodeError as e:
            if base and e.offset is not None:
                e.offset += base
            raise e.with_source(label)
        for w in warnings:
            w.source = label
            if base and w.offset is not None:
                w.offset += base
        yield model, warnings, pos, length
        if length <= 0:  # pragma: no cover - every form has a positive length
            return
        pos += length
        i += 1


def no_items(form: str, label: str) -> DecodeError:
    """The error for an input in which no item of `form` was found."""
    return DecodeError(f"no {form} found: the input is all zeros or too short", offset=0, source=label)


def resolve_form(data: bytes, form: Optional[str], label: str) -> str:
    """The form given, else the detected one; neither is a one-line error."""
    form = form or detect_form(data)
    if form is None:
        raise InputError("not an ACPI table, CPER record, error status block or section "
                         "(use --as to say which CPER form it is)",
                         offset=0, source=label)
    return form


def decode_document(data: bytes, form: Optional[str] = None, label: str = "<bytes>"
                    ) -> Tuple[dict, List[DecodeWarning]]:
    """Decode a whole file of one form into a document model."""
    form = resolve_form(data, form, label)
    items, warnings, end = [], [], 0
    for model, w, pos, length in iter_items(data, form, label):
        items.append(model)
        warnings.extend(w)
        end = pos + length
    if not items:
        raise no_items(form, label)
    doc = {"form": form, FORMS[form]: items}
    if end < len(data):
        rest = data[end:]
        if any(rest):
            doc["trailing"] = rest.hex()
            warnings.append(DecodeWarning(f"{len(rest)} bytes after the last {form} are not part of "
                                          f"it", end, None, label))
        else:
            doc["padding"] = len(rest)
    return doc, warnings


def build_document(doc, form: Optional[str] = None, path: str = "") -> bytes:
    """Bytes of a document (or of one bare record / block / section model)."""
    if not isinstance(doc, dict):
        raise SpecError(f"expected a mapping, got {type(doc).__name__}", field=path or None)
    form = form or doc_form(doc)
    key = FORMS[form]
    if key not in doc:
        return _BUILDERS[form](doc, {"record": "record", "estatus": "block", "section": "section"}[form])
    extra = [k for k in doc if k not in ("form", key, "padding", "trailing")]
    if extra:
        raise SpecError(f"unknown field(s) {', '.join(map(repr, extra))}", field=path or None)
    items = doc[key]
    if not isinstance(items, list):
        raise SpecError(f"expected a list of {key}", field=key)
    out = bytearray()
    for i, item in enumerate(items):
        out += _BUILDERS[form](item, f"{key}[{i}]")
    if doc.get("trailing"):
        out += hex_bytes(doc["trailing"], "trailing")
    pad = doc.get("padding") or 0
    if not isinstance(pad, int) or pad < 0:
        raise SpecError("expected a byte count", field="padding")
    return bytes(out) + bytes(pad)


def doc_form(doc: dict) -> str:
    """Which form a spec is: its 'form' key, else its shape."""
    form = doc.get("form")
    if form is not None:
        if not isinstance(form, str) or form not in FORMS:
            raise SpecError(f"unknown form {form!r} (known: {', '.join(FORMS)})", field="form")
        return form
    if "records" in doc or "header" in doc or "sections" in doc:
        return "record"
    if "blocks" in doc or "entries" in doc or "block_status" in doc:
        return "estatus"
    if "descriptor" in doc:
        return "section"
    raise SpecError("cannot tell the form: give 'form: record|estatus|section', or a record "
                    "(header, sections), a status block (entries) or a section (descriptor, body)")
