"""Generated inputs for the replay and memory benchmarks: a HEST and long packed event streams."""
from __future__ import annotations

import random


def bench_hest_spec() -> dict:
    def gas(a):
        return {"address": a}
    srcs = []
    for sid, notify in enumerate(["SEA", "SCI", "GPIO_SIGNAL", "SDEI"]):
        src = {"type": "GHES_V2", "source_id": sid, "notify": {"type": notify, "vector": sid + 1},
               "error_status_address": gas(0x80000000 + 8 * sid), "error_status_block_length": 4096,
               "read_ack_register": gas(0x80001000 + 8 * sid)}
        srcs.append(src)
    return {"sources": srcs}


NOTIFY = [8, 3, 7, 11]     # SEA, SCI, GPIO-Signal, SDEI: one per source above


def blocks(n: int = 256):
    """Distinct memory-error status blocks (recoverable and corrected), as QEMU writes them."""
    import apeitool
    from apeitool.cli import memory_error_spec
    return [apeitool.build(memory_error_spec(0x40000000 + 0x1000 * i, "corrected" if i % 4 == 0 else
                                             "recoverable", True), "estatus") for i in range(n)]


def events(count: int, seed: int = 1):
    """`count` stream events: a write, then its notification (on a CPU), with a tick now and then;
    one record in eight repeats an earlier one (the estatus cache's business)."""
    from apeitool.replay.stream import Event
    rng = random.Random(seed)
    pool = blocks()
    t, i = 0.0, 0
    while i < count:
        sid = rng.randrange(4)
        block = pool[rng.randrange(len(pool))] if rng.random() < 0.125 else pool[i % len(pool)]
        t += 0.0005
        yield Event(t, "write", sid, 0, None, block, where="")
        i += 1
        if i < count:
            yield Event(t, "notify", sid, rng.randrange(4), NOTIFY[sid], None, where="")
            i += 1
        if i < count and rng.random() < 0.05:
            t += 0.01
            yield Event(t, "tick", where="")
            i += 1


def write_packed(path: str, count: int) -> int:
    from apeitool.replay.stream import pack_events
    with open(path, "wb") as out:
        return pack_events(events(count), out)
