"""HEST body: Error Source Count and the error source structures (ACPI 6.5 §18.3.2).

Sources are walked by their per-type lengths up to Table Length, as iasl does (Linux walks Error
Source Count entries: linux_hest.linux_view); zero runs where a structure should start are gaps; the count is
kept as given so a count that disagrees with the sources present stays visible.
"""
from __future__ import annotations

import functools
import re

from ..errors import DecodeError, DecodeWarning, SpecError
from ..model import build_fixed, parse_fixed
from ..names import HEST_TYPE
from ..schemas.common import parse_int, struct_offset
from ..schemas.values import check_keys
from ..schemas.hest import (HEST_HEADER_SIZE, MC_BANK_SIZE, SOURCE_STRUCTS, HestBody, McBank,
                            SourceType)
from ..schemas.notify import NOTIFY_SIZE

BODY_KEYS = ("error_source_count", "sources", "gaps")
COUNT = ("error_source_count", "sources")


def type_number(value) -> int:
    return SourceType.to_int(value)


# Walk marker for a run of zero bytes between (or after) error source structures: real firmware
# leaves such gaps (a server board: 336 zero bytes before two GHES). They are kept as bytes.
GAP = "gap"
_SEARCH_BUDGET = 5_000   # states tried before a gap search gives up (adversarial tables)
_NONZERO = re.compile(rb"[^\x00]")


# type -> (fixed size, offset of Num Hardware Banks or None): the walks' hot path, precomputed
SHAPES = {t: (struct.sizeof(), struct_offset(struct, "num_hardware_banks") if banks else None)
          for t, (struct, banks) in SOURCE_STRUCTS.items()}


def _structure_end(table: bytes, offset: int):
    """End of a structure that can stand at `offset` (known type, banks inside the table), or None."""
    if len(table) - offset < 2:
        return None
    shape = SHAPES.get(table[offset] | table[offset + 1] << 8)
    if shape is None:
        return None
    size, banks_at = shape
    end = offset + size
    if end > len(table):
        return None
    if banks_at is not None:
        end += table[offset + banks_at] * MC_BANK_SIZE
    return end if end <= len(table) else None


def _describes_something(table: bytes, offset: int) -> bool:
    """A structure stands at `offset` and is not all zero bytes (an all-zero IA-32 MCE, disabled,
    Source Id 0, no banks, describes nothing: such bytes are a gap)."""
    end = _structure_end(table, offset)
    return end is not None and any(table[offset:end])


def iasl_walk(table: bytes, lenient: bool = False):
    """Yield (offset, struct, path) by per-type lengths up to Table Length, as iasl (and this
    decoder, for tables without zero gaps) walks; a DecodeError where it cannot go on. `lenient`
    walks as `iasl -d` prints: an unknown type yields (offset, None, type) and a type cut by the
    table's end (offset, None, None), either ending the walk; and
    banks are yielded while they start inside the table (the dump stops where the table ends)."""
    yield 36, HestBody, ""
    offset = HEST_HEADER_SIZE
    index = 0
    while offset < len(table):
        path = f"sources[{index}]"
        if len(table) - offset < 2:
            if lenient:
                yield offset, None, None
                return
            raise DecodeError("table ends inside an error source structure: 1 byte left for its "
                              "2-byte type", offset=offset, field=f"{path}.type")
        t = int.from_bytes(table[offset:offset + 2], "little")
        if t not in SOURCE_STRUCTS:
            if lenient:
                yield offset, None, t
                return
            what = "reserved (legacy) type" if t in (3, 4, 5) else "unknown type"
            raise DecodeError(f"error source structure of {what} 0x{t:X}: its length is unknown, "
                              f"so decoding cannot go on", offset=offset, field=f"{path}.type")
        struct, has_banks = SOURCE_STRUCTS[t]
        yield offset, struct, path
        start = offset
        offset += struct.sizeof()
        if has_banks:
            count_at = start + struct_offset(struct, "num_hardware_banks")
            if count_at >= len(table):
                return   # the structure itself is cut short: parse_fixed names the field
            count = table[count_at]
            needed = count * MC_BANK_SIZE
            if lenient:
                needed = min(needed, max(0, len(table) - offset))
                count = -(-needed // MC_BANK_SIZE)
            elif len(table) - offset < needed:
                raise DecodeError(
                    f"Num Hardware Banks {count} needs {needed} bytes of banks from 0x{offset:X}, "
                    f"the table has {len(table) - offset} left",
                    offset=count_at, field=f"{path}.num_hardware_banks")
            for b in range(count):
                yield offset, McBank, f"{path}.banks[{b}]"
                offset += MC_BANK_SIZE
        index += 1


def _gap_search(table: bytes, count: int):
    """Structure starts and zero gaps that cover the table exactly, as [(offset, "struct"|"gap",
    size)], or None. A gap ends where its zeros end, at the next structure's type or the table's
    end (letting a type-0 structure, which begins with zero bytes, start inside the run lets the
    search "fit" garbage). Preferred: as many structures as Error Source Count, then the fewest
    gaps, then the most gap bytes. An all-zero structure is never taken (_describes_something).
    States (offset, structures so far) only grow, so they are settled in order (a DAG, not a
    shortest-path search)."""
    import heapq
    n = len(table)
    start = (HEST_HEADER_SIZE, 0)
    best = {start: (0, 0)}
    prev = {}
    todo = [start]
    budget = _SEARCH_BUDGET
    while todo:
        state = heapq.heappop(todo)
        if todo and todo[0] == state:
            continue   # pushed twice; settle once
        p, k = state
        if p == n:
            continue
        budget -= 1
        if budget < 0:
            return None
        gaps, minus_bytes = best[state]
        steps = []
        if _describes_something(table, p):
            steps.append(((_structure_end(table, p), k + 1), (gaps, minus_bytes), "struct"))
        if table[p] == 0 and (state == start or prev[state][1] != "gap"):
            nonzero = _NONZERO.search(table, p)
            run_end = nonzero.start() if nonzero else n
            if run_end == n or _structure_end(table, run_end) is not None:
                steps.append(((run_end, k), (gaps + 1, minus_bytes - (run_end - p)), "gap"))
        for nxt, cost, what in steps:
            if nxt not in best:
                heapq.heappush(todo, nxt)
            if nxt not in best or cost < best[nxt]:
                best[nxt] = cost
                prev[nxt] = (state, what)
    ends = [(k != count, best[(p, k)], (p, k)) for p, k in best if p == n]
    if not ends:
        return None
    plan, state = [], min(ends)[2]
    while state != start:
        before, what = prev[state]
        plan.append((before[0], what, state[0] - before[0]))
        state = before
    return plan[::-1]


def _has_zero_run(table: bytes) -> bool:
    return b"\0\0" in table[HEST_HEADER_SIZE:]


def walk(table: bytes):
    """Yield (offset, struct, path) for each structure of the HEST in table order (see _walk)."""
    return iter(_walk_cached(bytes(table)))


@functools.lru_cache(maxsize=16)
def _walk_cached(table: bytes):
    return tuple(_walk(table))


def _walk(table: bytes):
    """Yield (offset, struct, path) for each structure of the HEST in table order; a zero gap is
    (offset, GAP, "gaps[k]"). Tables without zero runs where a structure would start walk as iasl
    does; otherwise the gap search decides. A DecodeError where the table cannot be walked."""
    try:
        plain = list(iasl_walk(table))
        error = None
    except DecodeError as e:
        plain, error = None, e
    count = int.from_bytes(table[36:40], "little")
    # a walk that worked and read no all-zero structure stands, unless the table has zero runs
    # and gaps ending where the zeros end make it agree with Error Source Count
    heads = [off for off, struct, _path in plain or () if struct is not McBank and struct is not HestBody]
    plain_sound = plain is not None and all(_describes_something(table, off) for off in heads)
    if plain_sound and (len(heads) == count or not _has_zero_run(table)):
        yield from plain
        return
    plan = _gap_search(table, count)
    if plan is not None and plain_sound and sum(1 for _p, what, _n in plan if what == "struct") != count:
        plan = None
    if plan is None:
        if plain is not None:
            yield from plain
            return
        raise error
    yield 36, HestBody, ""
    index = 0
    gap_index = 0
    for offset, what, _size in plan:
        if what == "gap":
            yield offset, GAP, f"gaps[{gap_index}]"
            gap_index += 1
            continue
        t = int.from_bytes(table[offset:offset + 2], "little")
        size, banks_at = SHAPES[t]
        path = f"sources[{index}]"
        yield offset, SOURCE_STRUCTS[t][0], path
        for b in range(table[offset + banks_at] if banks_at is not None else 0):
            yield offset + size + b * MC_BANK_SIZE, McBank, f"{path}.banks[{b}]"
        index += 1


def decode_body(table: bytes, warnings: list) -> dict:
    body = None
    sources = []
    gaps = []
    items = list(walk(table))
    for n, (offset, struct, path) in enumerate(items):
        if struct is HestBody:
            body = parse_fixed(HestBody, table, offset, path, "the HEST header")
        elif struct is GAP:
            following = [o for o, s, _p in items[n + 1:] if s is not McBank]
            length = (following[0] if following else len(table)) - offset
            gaps.append({"before_source": len(sources), "length": length})
            where = (f"between sources[{len(sources) - 1}] and sources[{len(sources)}]" if following and sources
                     else "before sources[0]" if following else "after the last error source structure")
            warnings.append(DecodeWarning(
                f"{length} zero bytes {where}: no error source structure, kept as a gap",
                offset=offset, field=path))
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
    if gaps:
        body["gaps"] = gaps
    if body["error_source_count"] != len(sources):
        warnings.append(DecodeWarning(
            f"Error Source Count says {body['error_source_count']}, the table holds {len(sources)} "
            f"error source structure(s)", offset=36, field="error_source_count"))
    return body


def check_gaps(model: dict, n_sources: int) -> list:
    """The spec's zero gaps as (before_source, length), checked."""
    gaps = model.get("gaps") or []
    if not isinstance(gaps, list):
        raise SpecError("expected a list of {before_source, length}", field="gaps")
    out = []
    for k, gap in enumerate(gaps):
        path = f"gaps[{k}]"
        if not isinstance(gap, dict):
            raise SpecError(f"a gap is a mapping {{before_source, length}}, got {gap!r}", field=path)
        check_keys(gap, ("before_source", "length"), path)
        values = []
        for key, low, high in (("before_source", 0, n_sources), ("length", 1, 1 << 24)):
            if key not in gap:
                raise SpecError("missing required field", field=f"{path}.{key}")
            try:
                v = parse_int(gap[key], key)
            except ValueError as e:
                raise SpecError(str(e), field=f"{path}.{key}")
            if not low <= v <= high:
                raise SpecError(f"{key} {v} is outside {low}..{high}", field=f"{path}.{key}")
            values.append(v)
        out.append(tuple(values))
    return out


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
    gaps = check_gaps(model, len(sources))
    out = build_fixed(HestBody, {"error_source_count": count}, "")
    for i in range(len(sources) + 1):
        out += b"".join(bytes(length) for before, length in gaps if before == i)
        if i < len(sources):
            out += build_source(sources[i], f"sources[{i}]")
    return out


def text_tree(root, model: dict, add_struct):
    """The HEST part of the text renderer: count, then each source with its banks."""
    from ..names import HEST_TYPE_SPEC
    from ..schemas.hest import HEST_HEADER_SIZE as offset
    sources = model.get("sources", [])
    count = model.get("error_source_count")
    note = "" if count == len(sources) else f" [yellow](table holds {len(sources)})[/yellow]"
    root.add(f"[dim]0024[/dim] Error Source Count: {count}{note}")
    gaps = model.get("gaps") or []
    for i in range(len(sources) + 1):
        for before, length in ((g["before_source"], g["length"]) for g in gaps):
            if before == i:
                root.add(f"[yellow]zero gap: {length} bytes (no error source structure)[/yellow] "
                         f"[dim]@0x{offset:X}[/dim]")
                offset += length
        if i == len(sources):
            break
        source = sources[i]
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
