"""BERT body codec (ACPI 6.5 §18.3.1): the boot error region's length and address.

The BERT is 48 bytes; anything firmware puts after that within Table Length is kept as
`extra_data` (hex) with a warning, so such a table still round-trips.
"""
from ..errors import DecodeWarning, SpecError
from ..model import build_fixed, parse_fixed
from ..schemas.bert import BertBody

FIELDS = tuple(sc.name for sc in BertBody.subcons)
BODY_KEYS = FIELDS + ("extra_data",)
BERT_SIZE = 36 + BertBody.sizeof()


def walk(table: bytes):
    yield 36, BertBody, ""


def decode_body(table: bytes, warnings: list) -> dict:
    body = parse_fixed(BertBody, table, 36, "", "the BERT body")
    if len(table) > BERT_SIZE:
        body["extra_data"] = table[BERT_SIZE:].hex()
        warnings.append(DecodeWarning(f"{len(table) - BERT_SIZE} byte(s) after the {BERT_SIZE}-byte BERT "
                                      f"inside Table Length", offset=BERT_SIZE, field="extra_data"))
    return body


def build_body(model: dict) -> bytes:
    out = build_fixed(BertBody, {k: model[k] for k in FIELDS if k in model}, "")
    extra = model.get("extra_data") or ""
    try:
        return out + bytes.fromhex(extra)
    except (TypeError, ValueError):
        raise SpecError("expected a string of hex digits", field="extra_data")


def text_tree(root, model: dict, add_struct):
    add_struct(root, BertBody, model, 36)
    if model.get("extra_data"):
        root.add(f"[dim]{BERT_SIZE:04X}[/dim] extra data: {model['extra_data']}")
