"""ACPI tables as a whole: header, Table Length, checksum, and the per-signature body codecs.

decode_table(bytes) -> (model, warnings); build_table(model) -> bytes. The model is
{"header": {...}, <body fields>}; Table Length and Checksum are derived on build when omitted.
"""
from __future__ import annotations

import importlib

from ..errors import DecodeError, DecodeWarning, SpecError
from ..model import build_fixed, parse_fixed
from ..schemas.header import HEADER_DEFAULTS, SDT_HEADER_SIZE, SdtHeader, checksum_byte, table_sum

# Signature -> module implementing decode_body/build_body/BODY_KEYS.
_CODECS = {
    "BERT": "apeitool.tables.bert",
    "EINJ": "apeitool.tables.einj",
    "ERST": "apeitool.tables.erst",
    "HEST": "apeitool.tables.hest",
}


MAX_TABLE_LENGTH = 16 << 20  # no APEI table comes near this; larger means "not a raw table"


def supported_signatures():
    return sorted(_CODECS)


def codec(signature: str):
    name = _CODECS.get(signature)
    if name is None:
        raise KeyError(signature)
    return importlib.import_module(name)


def looks_like_table(data: bytes) -> bool:
    """A known signature and a plausible Table Length: enough to call raw input a table."""
    if len(data) < 4 or data[:4].decode("latin-1") not in _CODECS:
        return False
    # text that starts with a signature ("HEST @ 0x..." in acpidump output) declares an absurd length
    return len(data) < 8 or int.from_bytes(data[4:8], "little") < MAX_TABLE_LENGTH


def decode_table(data: bytes):
    """Decode one ACPI table. Returns (model, warnings). Raises DecodeError for unusable input."""
    data = bytes(data)
    if len(data) < SDT_HEADER_SIZE:
        raise DecodeError(f"{len(data)} bytes is too short for an ACPI table header "
                          f"({SDT_HEADER_SIZE} bytes)", offset=len(data), field="header")
    header = parse_fixed(SdtHeader, data, 0, "header", "the ACPI table header")
    sig = header["signature"]
    try:
        body_codec = codec(sig)
    except KeyError:
        shown = data[:4].decode("latin-1").encode("unicode_escape").decode()
        raise DecodeError(f"unsupported table signature '{shown}' (supported: "
                          f"{', '.join(supported_signatures())})", offset=0, field="header.signature")
    length = header["length"]
    warnings = []
    if length < SDT_HEADER_SIZE:
        raise DecodeError(f"Table Length 0x{length:X} is smaller than the {SDT_HEADER_SIZE}-byte header",
                          offset=4, field="header.length")
    if length > len(data):
        raise DecodeError(f"Table Length 0x{length:X} but the input holds only 0x{len(data):X} bytes "
                          f"(truncated table or lying length)", offset=4, field="header.length")
    if length < len(data):
        warnings.append(DecodeWarning(f"{len(data) - length} byte(s) after Table Length 0x{length:X} "
                                      f"ignored", offset=length, field="header.length"))
    table = data[:length]
    if table_sum(table) != 0:
        warnings.append(DecodeWarning(f"checksum 0x{table[9]:02X} is wrong, should be "
                                      f"0x{checksum_byte(table):02X}", offset=9, field="header.checksum"))
    model = {"header": header}
    model.update(body_codec.decode_body(table, warnings))
    return model, warnings


# the fields that say how big a table is; --fix-lengths derives them again
DERIVED = ("header.length", "header.checksum", "count")


def build_table(model: dict, signature: str = None, fix_lengths: bool = False,
                warnings: list = None) -> bytes:
    """Build an ACPI table from its model (a decode result or a hand-written spec).

    Table Length, Checksum and the entry count are derived when omitted and kept when given (to
    reproduce broken firmware byte for byte); a kept value that contradicts the structures is a
    DecodeWarning appended to `warnings` (e.g. after a source was deleted from a decoded model).
    `fix_lengths` derives all three again, whatever the spec says."""
    if not isinstance(model, dict):
        raise SpecError(f"a table spec is a mapping, got {type(model).__name__}")
    if fix_lengths:
        model = dict(model)
        model["header"] = {k: v for k, v in (model.get("header") or {}).items()
                           if k not in ("length", "checksum")} if isinstance(model.get("header"), dict) \
            else model.get("header")
        count_field = getattr(_codec_for(model, signature), "COUNT", (None,))[0]
        model.pop(count_field, None)
    header = dict(HEADER_DEFAULTS)
    given = model.get("header") or {}
    if not isinstance(given, dict):
        raise SpecError("expected a mapping", field="header")
    header.update({k: v for k, v in given.items() if v is not None})
    sig = header.get("signature") or signature
    if signature and sig != signature:
        raise SpecError(f"signature {sig!r} does not match the table kind {signature!r}",
                        field="header.signature")
    if not sig:
        raise SpecError("no signature: give header.signature or the table kind", field="header.signature")
    header["signature"] = sig
    try:
        body_codec = codec(sig)
    except KeyError:
        raise SpecError(f"unsupported table signature {sig!r} (supported: "
                        f"{', '.join(supported_signatures())})", field="header.signature")
    extra = [k for k in model if k != "header" and k not in body_codec.BODY_KEYS]
    if extra:
        raise SpecError(f"unknown field(s) {', '.join(map(repr, extra))} (known: header, "
                        f"{', '.join(body_codec.BODY_KEYS)})")
    body = body_codec.build_body(model)
    length_given = "length" in header
    checksum_given = "checksum" in header
    header.setdefault("length", SDT_HEADER_SIZE + len(body))
    header.setdefault("checksum", 0)
    raw = bytearray(build_fixed(SdtHeader, header, "header") + body)
    if not checksum_given:
        raw[9] = checksum_byte(bytes(raw))
    if not length_given:
        assert header["length"] == len(raw)
    if warnings is not None:
        warnings.extend(_kept_contradictions(bytes(raw), model, body_codec))
    return bytes(raw)


def _codec_for(model: dict, signature: str = None):
    header = model.get("header") if isinstance(model.get("header"), dict) else {}
    try:
        return codec(header.get("signature") or signature or "")
    except KeyError:
        return None


def _kept_contradictions(raw: bytes, model: dict, body_codec) -> list:
    """Given values that no longer fit what was built (a spec edited after decode)."""
    out = []
    hint = " (--fix-lengths derives it)"
    length = int.from_bytes(raw[4:8], "little")
    if length != len(raw):
        out.append(DecodeWarning(f"Table Length {length} kept as given, the table built is {len(raw)} bytes"
                                 f"{hint}", offset=4, field="header.length"))
    if table_sum(raw) != 0:
        out.append(DecodeWarning(f"Checksum 0x{raw[9]:02X} kept as given, the table sums to "
                                 f"0x{table_sum(raw):02X}, not 0{hint}", offset=9, field="header.checksum"))
    count_field, list_field = getattr(body_codec, "COUNT", (None, None))
    if count_field and count_field in model and isinstance(model.get(list_field), list):
        given = model[count_field]
        try:
            given = int(given, 0) if isinstance(given, str) else int(given)
        except (TypeError, ValueError):
            return out
        if given != len(model[list_field]):
            out.append(DecodeWarning(f"{count_field} {given} kept as given, the spec has "
                                     f"{len(model[list_field])} {list_field}{hint}", field=count_field))
    return out
