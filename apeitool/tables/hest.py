"""HEST body: Error Source Count and the error source structures (ACPI 6.5 §18.3.2).

Sources are walked by their per-type lengths up to Table Length, as iasl and Linux do; the count is
kept as given so a count that disagrees with the sources present stays visible.
"""
from __future__ import annotations

from ..errors import DecodeError, DecodeWarning, SpecError
from ..model import build_fixed, parse_fixed
from ..names import HEST_TYPE
from ..schemas.common import parse_int, struct_offset
from ..schemas.hest import (HEST_HEADER_SIZE, MC_BANK_SIZE, SOURCE_STRUCTS, HestBody, McBank,
                            SourceType)
from ..schemas.notify import NOTIFY_SIZE

BODY_KEYS = ("error_source_count", "sources")


def type_number(value) -> int:
    return SourceType.to_int(value)


def walk(table: bytes):
    """Yield (offset, struct, path) for each fixed-size structure of the HEST, in table order.

    The walk follows per-type lengths up to Table Length; it stops with a DecodeError where it cannot
    know the next structure's length (unknown type, bank array running past the end).
    """
    yield 36, HestBody, ""
    offset = HEST_HEADER_SIZE
    index = 0
    while offset < len(table):
        path = f"sources[{index}]"
        if len(table) - offset < 2:
            raise DecodeError("table ends inside an error source structure: 1 byte left for its "
                              "2-byte type", offset=offset, field=f"{path}.type")
        t = int.from_bytes(table[offset:offset + 2], "little")
        if t not in SOURCE_STRUCTS:
            what = "reserved (legacy) type" if t in (3, 4, 5) else "unknown type"
            raise DecodeError(f"error source structure of {what} 0x{t:X}: its length is unknown, "
                              f"so decoding cannot go on", offset=offset, field=f"{path}.type")
        struct, has_banks = SOURCE_STRUCTS[t]
        yield offset, struct, path
        start = offset
        offset += struct.sizeof()
        if has_banks:
            count_at = start + struct_offset(struct, "num_hardware_banks")
            count = table[count_at]
            needed = count * MC_BANK_SIZE
            if len(table) - offset < needed:
                raise DecodeError(
                    f"Num Hardware Banks {count} needs {needed} bytes of banks from 0x{offset:X}, "
                    f"the table has {len(table) - offset} left",
                    offset=count_at, field=f"{path}.num_hardware_banks")
            for b in range(count):
                yield offset, McBank, f"{path}.banks[{b}]"
                offset += MC_BANK_SIZE
        index += 1


def decode_body(table: bytes, warnings: list) -> dict:
    body = None
    sources = []
    for offset, struct, path in walk(table):
        if struct is HestBody:
            body = parse_fixed(HestBody, table, offset, path, "the HEST header")
        elif struct is McBank:
            bank = parse_fixed(McBank, table, offset, path, path)
            sources[-1].setdefault("banks", []).append(bank)
        else:
            t = int.from_bytes(table[offset:offset + 2], "little")
            source = parse_fixed(struct, table, offset, path, f"{HEST_TYPE[t]} {path}")
            if SOURCE_STRUCTS[t][1]:
                source["banks"] = []
            if "notify" in source and source["notify"]["length"] != NOTIFY_SIZE:
                warnings.append(DecodeWarning(
                    f"Notify Length is {source['notify']['length']}, decoded as the {NOTIFY_SIZE} "
                    f"bytes the structure has",
                    offset=offset + struct_offset(struct, "notify") + 1, field=f"{path}.notify.length"))
            sources.append(source)
    body["sources"] = sources
    if body["error_source_count"] != len(sources):
        warnings.append(DecodeWarning(
            f"Error Source Count says {body['error_source_count']}, the table holds {len(sources)} "
            f"error source structure(s)", offset=36, field="error_source_count"))
    return body


def build_source(source, path: str) -> bytes:
    if not isinstance(source, dict):
        raise SpecError(f"an error source is a mapping, got {source!r}", field=path)
    if "type" not in source:
        raise SpecError("missing required field", field=f"{path}.type")
    try:
        t = type_number(source["type"])
    except ValueError as e:
        raise SpecError(str(e), field=f"{path}.type")
    if t not in SOURCE_STRUCTS:
        raise SpecError(f"error source type {t} has no defined layout (known: "
                        f"{', '.join(f'{k} {v}' for k, v in HEST_TYPE.items())})", field=f"{path}.type")
    struct, has_banks = SOURCE_STRUCTS[t]
    fixed = {k: v for k, v in source.items() if k != "banks"}
    if "banks" in source and not has_banks:
        raise SpecError(f"{HEST_TYPE[t]} sources have no machine-check banks", field=f"{path}.banks")
    banks = source.get("banks") or []
    if not isinstance(banks, list):
        raise SpecError("expected a list of banks", field=f"{path}.banks")
    if has_banks and fixed.get("num_hardware_banks") is None:
        fixed["num_hardware_banks"] = len(banks)
    out = build_fixed(struct, fixed, path)
    for b, bank in enumerate(banks):
        out += build_fixed(McBank, bank, f"{path}.banks[{b}]")
    return out


def build_body(model: dict) -> bytes:
    sources = model.get("sources") or []
    if not isinstance(sources, list):
        raise SpecError("expected a list of error sources", field="sources")
    count = model.get("error_source_count")
    if count is None:
        count = len(sources)
    try:
        count = parse_int(count, "error_source_count")
    except ValueError as e:
        raise SpecError(str(e), field="error_source_count")
    out = build_fixed(HestBody, {"error_source_count": count}, "")
    for i, source in enumerate(sources):
        out += build_source(source, f"sources[{i}]")
    return out


def text_tree(root, model: dict, add_struct):
    """The HEST part of the text renderer: count, then each source with its banks."""
    from ..names import HEST_TYPE_SPEC
    from ..schemas.hest import HEST_HEADER_SIZE as offset
    sources = model.get("sources", [])
    count = model.get("error_source_count")
    note = "" if count == len(sources) else f" [yellow](table holds {len(sources)})[/yellow]"
    root.add(f"[dim]0024[/dim] Error Source Count: {count}{note}")
    for i, source in enumerate(sources):
        t = type_number(source["type"])
        struct, has_banks = SOURCE_STRUCTS[t]
        summary = f"source {i}: [bold]{HEST_TYPE.get(t, t)}[/bold] ({HEST_TYPE_SPEC.get(t, '?')}), " \
                  f"Source Id {source.get('source_id')}"
        if "notify" in source:
            summary += f", notify {source['notify']['type']}"
        node = root.add(f"{summary} [dim]@0x{offset:X}[/dim]")
        add_struct(node, struct, source, offset)
        offset += struct.sizeof()
        for b, bank in enumerate(source.get("banks", []) if has_banks else []):
            add_struct(node.add(f"bank {b} [dim]@0x{offset:X}[/dim]"), McBank, bank, offset)
            offset += MC_BANK_SIZE
