"""Random but valid specs for every CPER section type (from the layouts themselves), for the
benchmarks and the fuzzer. Deterministic for a given random.Random."""
from __future__ import annotations

import random
from typing import List, Tuple

from .schemas.cper_fields import Guid, Hex, Text
from .schemas.fast import Compiled
from .schemas.sections import BODIES

SEVERITIES = ("recoverable", "fatal", "corrected", "informational")


def value(t, rng: random.Random):
    if isinstance(t, Compiled):
        return {n: value(ft, rng) for n, ft, _v in t.fields}
    if isinstance(t, Guid):
        return "%08x-%04x-%04x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
                                               rng.getrandbits(16), rng.getrandbits(48))
    if isinstance(t, Text):
        return "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(t.size + 1)))
    if isinstance(t, Hex):
        return rng.randbytes(t.size).hex()
    return rng.getrandbits(8 * t.size)      # integers, enums and bit fields: any value round-trips


def section_body(key: str, rng: random.Random, max_items: int = 3) -> dict:
    """A body spec of section type `key` with random field values and 0..max_items of each part."""
    body_def = BODIES[key]
    body = value(body_def.layout, rng)
    for part in body_def.parts:
        if part.layout is not None:
            items = []
            for _ in range(rng.randrange(max_items + 1)):
                item = value(part.layout, rng)
                if part.blob_after:
                    item[part.blob_after] = rng.randbytes(rng.randrange(41)).hex()
                    item.pop(part.blob_size_field)
                items.append(item)
            body[part.name] = items
            if part.count_field:
                head, _, rest = part.count_field.partition(".")
                if rest:    # a count inside a bit field: give the other bits, derive the count
                    body[head] = {"lapic_id": bool(rng.getrandbits(1)), "cpuid": bool(rng.getrandbits(1))}
                else:
                    body.pop(head)
            else:           # PCI component: memory_number + io_number register pairs
                body["memory_number"], body["io_number"] = 0, len(items)
        else:
            body[part.name] = rng.randbytes(rng.randrange(61)).hex()
            body.pop(part.length_field, None)
    return body


def record_spec(rng: random.Random, keys: List[str], max_sections: int = 3) -> dict:
    sections = []
    for _ in range(rng.randrange(1, max_sections + 1)):
        key = rng.choice(keys)
        sections.append({"descriptor": {"section_type": key, "section_severity": rng.choice(SEVERITIES)},
                         "body": section_body(key, rng)})
    return {"header": {"record_id": rng.getrandbits(64)}, "sections": sections}


def block_spec(rng: random.Random, keys: List[str], max_entries: int = 3) -> dict:
    entries = []
    for _ in range(rng.randrange(1, max_entries + 1)):
        key = rng.choice(keys)
        entries.append({"section_type": key, "error_severity": rng.choice(SEVERITIES), "revision": 0x300,
                        "body": section_body(key, rng)})
    return {"error_severity": rng.choice(SEVERITIES), "entries": entries}


def mixed_records(n: int, seed: int = 1) -> List[Tuple[str, bytes]]:
    """n distinct records covering every section type in turn (the first of each record's sections
    cycles through all types), as (first section type, bytes)."""
    from .cper import build_document
    rng = random.Random(seed)
    keys = sorted(BODIES)
    out = []
    for i in range(n):
        spec = record_spec(rng, keys)
        first = keys[i % len(keys)]
        spec["sections"][0] = {"descriptor": {"section_type": first}, "body": section_body(first, rng)}
        out.append((first, build_document({"records": [spec]})))
    return out
