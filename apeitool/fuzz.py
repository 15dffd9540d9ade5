"""Fuzzing every decoder: mutated tables, CPER records/sections/status blocks, packed replay streams
and build specs. Every case must end in a decode, a clean one-line error, or findings: never a
traceback, a hang (> 2 s) or a memory blow-up.

    python -m apeitool.fuzz --n 1000000                  # a million cases per decoder
    python -m apeitool.fuzz --n 2000 --decoder cper-record --corpus ../shared/corpus --save findings/

Seeds are built in (generated tables, records and streams) plus any --corpus files. The run is
deterministic for a --seed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from .errors import ApeiError

CASE_SECONDS = 2.0
INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


class Hang(BaseException):
    """Raised by the timer when one case uses more than CASE_SECONDS of CPU (BaseException: library
    code catching Exception must not swallow it). CPU time, not wall time: a busy machine must not
    turn a slow case into a "hang"."""


# -- seeds ------------------------------------------------------------------------------------------

def _gas(addr):
    return {"space_id": "SYSTEM_MEMORY", "bit_width": 64, "bit_offset": 0, "access_size": "QWORD", "address": addr}


def builtin_specs() -> Dict[str, list]:
    """Spec seeds per table kind (the bytes seeds are built from them)."""
    from importlib import resources
    from .specs import parse_spec_text
    example = parse_spec_text(resources.files("apeitool").joinpath("data/example-hest.yaml").read_text(), "x")
    x86 = {"sources": [
        {"type": "IA32_MCE", "source_id": 0, "banks": [{"bank_number": 0, "control_register": 0x400}]},
        {"type": "IA32_CMC", "source_id": 1, "notify": {"type": "POLLED", "poll_interval": 1000},
         "banks": [{"bank_number": 1}, {"bank_number": 2}]},
        {"type": "IA32_NMI", "source_id": 2},
        {"type": "AER_BRIDGE", "source_id": 3, "flags": {"global": True}},
        {"type": "GHES", "source_id": 4, "error_status_address": _gas(0x7F000000), "notify": {"type": "NMI"}},
        {"type": "IA32_DEFERRED_MCE", "source_id": 5, "notify": {"type": "POLLED"}, "banks": []}]}
    entries = [{"action": a, "instruction": a % 4, "register_region": _gas(0x7E000000 + 8 * a), "mask": 0xFF}
               for a in range(10)]
    return {
        "hest": [example, x86],
        "bert": [{"header": {"signature": "BERT"}, "boot_error_region_length": 0x1000,
                  "boot_error_region_address": 0x70000000}],
        "einj": [{"header": {"signature": "EINJ"}, "injection_header_size": 12, "entries": entries}],
        "erst": [{"header": {"signature": "ERST"}, "serialization_header_size": 48,
                  "entries": [dict(e, action=a) for a, e in zip(range(0x11), entries * 2)]}],
    }


def builtin_cper(rng: random.Random) -> Dict[str, List[bytes]]:
    from .cper import build_document
    from .gen import block_spec, record_spec, section_body
    from .schemas.sections import BODIES
    keys = sorted(BODIES)
    records = [build_document({"records": [record_spec(rng, keys)]}) for _ in range(24)]
    sections = [build_document({"form": "section", "sections": [{"descriptor": {"section_type": k},
                                                                  "body": section_body(k, rng)}]}) for k in keys]
    blocks = [build_document({"blocks": [block_spec(rng, keys)]}) for _ in range(24)]
    return {"cper-record": records, "cper-section": sections, "cper-estatus": blocks}


def corpus_seeds(root: str) -> Dict[str, List[bytes]]:
    import glob
    out: Dict[str, List[bytes]] = {}
    for path in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
        if not os.path.isfile(path) or os.path.getsize(path) > 1 << 20:
            continue
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path)
        if path.endswith((".dat", ".aml")) and data[:4] in (b"HEST", b"BERT", b"EINJ", b"ERST"):
            out.setdefault(data[:4].decode().lower(), []).append(data)
        elif path.endswith(".cper"):
            kind = "cper-record" if data[:4] == b"CPER" else "cper-section" if name.startswith("section") \
                else "cper-estatus"
            out.setdefault(kind, []).append(data)
    return out


def packed_seeds(rng: random.Random) -> List[bytes]:
    import io
    from .cli import memory_error_spec
    from .cper import build_document
    from .replay.stream import Event, pack_events
    out = []
    for k in range(4):
        events, t = [], 0.0
        for i in range(rng.randrange(2, 12)):
            t += rng.choice((0.0, 0.001, 1.0))
            block = build_document(memory_error_spec(0x1000 * (i + 1), rng.choice(("recoverable", "corrected")), True))
            events.append(Event(t, rng.choice(("write", "write_notify")), rng.randrange(3), rng.randrange(4),
                                rng.choice((8, 3, 7, 11)), block))
            if rng.random() < 0.3:
                events.append(Event(t, "notify", None, rng.randrange(4), rng.choice((8, 3, 4)), None))
        buf = io.BytesIO()
        pack_events(events, buf)
        out.append(buf.getvalue())
    return out


# -- mutations --------------------------------------------------------------------------------------

FIELDS = {   # offsets of lengths and counts worth setting to extremes, per decoder
    "hest": [(4, 4), (36, 4), (40, 2), (72, 1), (33 + 40, 1)],
    "bert": [(4, 4), (36, 4), (40, 8)],
    "einj": [(4, 4), (36, 4), (44, 4)],
    "erst": [(4, 4), (36, 4), (44, 4)],
    "cper-record": [(10, 2), (20, 4), (128, 4), (132, 4), (200, 4), (204, 4)],
    "cper-section": [(0, 4), (4, 4), (72, 4), (74, 2), (76, 2)],
    "cper-estatus": [(0, 4), (4, 4), (8, 4), (12, 4), (20 + 24, 4)],
    "packed-stream": [(8 + 2, 1), (8 + 20, 4), (8 + 12, 4)],
}


def zero_gap(data: bytes, rng: random.Random) -> bytes:
    """A HEST with a run of zero bytes at a structure boundary (or at the end), Table Length and
    checksum fixed: what real firmware ships."""
    from .tables.hest import HestBody, McBank, iasl_walk
    try:
        heads = [off for off, struct, _p in iasl_walk(data) if struct is not McBank and struct is not HestBody]
    except ApeiError:
        heads = []
    at = rng.choice(heads + [len(data)]) if heads else len(data)
    b = bytearray(data[:at] + bytes(rng.choice((1, 4, 16, 40, 41, 80, 336, rng.randrange(1, 2000)))) + data[at:])
    if len(b) >= 10:
        b[4:8] = len(b).to_bytes(4, "little")
        b[9] = 0
        b[9] = -sum(b) & 0xFF
    return bytes(b)


def mutate(data: bytes, kind: str, rng: random.Random, seeds: List[bytes]) -> bytes:
    if kind == "hest" and rng.random() < 0.2:
        data = zero_gap(data, rng)
        if rng.random() < 0.5:
            return data
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.randrange(7)
        if not b:
            b = bytearray(rng.randbytes(rng.randrange(1, 64)))
        if op == 0:                                  # bit flips
            for _ in range(rng.randrange(1, 9)):
                i = rng.randrange(len(b) * 8)
                b[i // 8] ^= 1 << (i % 8)
        elif op == 1:                                # bytes set to edge values
            for _ in range(rng.randrange(1, 5)):
                b[rng.randrange(len(b))] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:                                # truncation
            del b[rng.randrange(len(b)):]
        elif op == 3:                                # splice with another seed
            other = rng.choice(seeds)
            b = b[:rng.randrange(len(b) + 1)] + bytearray(other[rng.randrange(len(other) + 1):])
        elif op == 4:                                # a length or count set to an extreme
            off, size = rng.choice(FIELDS.get(kind, [(0, 4)]) + [(rng.randrange(max(len(b) - 4, 1)) & ~3, 4)])
            if off + size <= len(b):
                v = rng.choice(INTERESTING + (len(b), len(b) - 1, len(b) + 1, rng.getrandbits(8 * size)))
                b[off:off + size] = (v & ((1 << 8 * size) - 1)).to_bytes(size, "little")
        elif op == 5:                                # a region duplicated
            i = rng.randrange(len(b))
            j = min(len(b), i + rng.randrange(1, 128))
            b[i:i] = b[i:j]
        else:                                        # random or zero bytes appended
            b += rng.randbytes(rng.randrange(1, 64)) if rng.random() < 0.5 else bytes(rng.randrange(1, 512))
    return bytes(b)


def mutate_spec(spec, rng: random.Random):
    """A decoded model with one leaf replaced, deleted, retyped or a key added."""
    spec = json.loads(json.dumps(spec))
    nodes = []

    def walk(obj):
        if isinstance(obj, dict):
            for k in list(obj):
                nodes.append((obj, k))
                walk(obj[k])
        elif isinstance(obj, list):
            for i in range(len(obj)):
                nodes.append((obj, i))
                walk(obj[i])
    walk(spec)
    if not nodes:
        return spec
    for _ in range(rng.choice((1, 1, 2, 3))):
        parent, key = rng.choice(nodes)
        op = rng.randrange(4)
        if op == 0 and isinstance(parent, dict):
            parent.pop(key, None)
        elif op == 1 and isinstance(parent, dict):
            parent["unknown_" + str(rng.randrange(100))] = 1
        else:
            try:
                parent[key] = rng.choice([-1, 0, 1 << 64, 1 << 32, 0xFFFF, "x", "0x1g", "", [], {}, None, 1.5, True,
                                          "SEA", "recoverable", [1, 2], {"a": 1}, "A" * 300])
            except (IndexError, KeyError, TypeError):
                pass
    return spec


# -- runners: one case of one decoder ---------------------------------------------------------------

def run_table(data: bytes) -> str:
    import apeitool
    from .validate import validate_bytes
    apeitool.decode_bytes(data, "fuzz")
    validate_bytes(data, "fuzz")
    return "decoded"


def run_hest(data: bytes) -> str:
    """A HEST case: decoded, validated, then replayed (both kernels, both architectures) with a
    record written to and notified on each source it describes."""
    import apeitool
    from .replay import replay
    from .validate import validate_bytes
    [decoded] = apeitool.decode_bytes(data, "fuzz")
    if apeitool.build(decoded.model) != decoded.data:
        raise AssertionError("decode/build round trip changed the bytes")
    validate_bytes(data, "fuzz")
    events = _events_for(decoded.model)
    for kernel in ("v5.1", "v5.0"):
        for arch in ("arm64", "x86_64"):
            replay(decoded.model, events, kernel, arch, keep=20)
    return "decoded"


def _events_for(hest: dict) -> list:
    from .cli import memory_error_spec
    from .cper import build_document
    from .replay.stream import Event
    from .validate.engine import enum_int
    block = build_document(memory_error_spec(0x40FA6000, "recoverable", True))
    events, t = [], 0.0
    for i, s in enumerate(hest.get("sources", [])[:16]):
        n = enum_int("notify_type", s["notify"]["type"]) if isinstance(s.get("notify"), dict) else None
        if n is None or not 0 <= n < 12 or not isinstance(s.get("source_id"), int):
            continue
        events += [Event(t, "write_notify", s["source_id"], i % 4, n, block), Event(t + 11.0, "tick")]
        t += 0.5
    return events


def run_cper(form: str) -> Callable[[bytes], str]:
    def run(data: bytes) -> str:
        from .cper import build_document, decode_document
        from .render.kernel import document as kernel_lines
        from .render.text import render_cper
        doc, _w = decode_document(data, form, "fuzz")
        kernel_lines(doc, "arm64")
        kernel_lines(doc, "x86_64")
        render_cper(doc, "fuzz")
        if form != "estatus":
            from .render import libcper
            libcper.document(doc)
        if build_document(json.loads(json.dumps(doc))) != data:
            raise AssertionError("decode/build round trip changed the bytes")
        return "decoded"
    return run


_REPLAY_HEST = None


def run_packed(data: bytes) -> str:
    import io
    from .replay import replay
    from .replay.stream import StreamStats, read_packed
    global _REPLAY_HEST
    if _REPLAY_HEST is None:
        from .replay.example import example_hest
        _REPLAY_HEST = example_hest()
        _REPLAY_HEST["sources"].append({**_REPLAY_HEST["sources"][1], "source_id": 2,
                                        "notify": {**_REPLAY_HEST["sources"][1]["notify"], "type": "SCI"}})
        _REPLAY_HEST["error_source_count"] = 3
    stats = StreamStats()
    replay(_REPLAY_HEST, read_packed(io.BytesIO(data), "fuzz", stats), keep=50, stats=stats)
    return "decoded"


def run_spec(text: bytes) -> str:
    import apeitool
    from .specs import parse_spec_text
    spec = parse_spec_text(text.decode("utf-8", "replace"), "fuzz")
    if isinstance(spec, dict) and isinstance(spec.get("header"), dict) and \
            spec["header"].get("signature") in ("HEST", "BERT", "EINJ", "ERST"):
        raw = apeitool.build(spec)
    else:
        raw = apeitool.build(spec, "cper")
    apeitool.decode_bytes(raw, "fuzz", kind=None if raw[:4] in (b"HEST", b"BERT", b"EINJ", b"ERST") else "cper")
    return "decoded"


def text_dumps(data: bytes, rng: random.Random) -> bytes:
    """`data` as one of the text forms users paste: hexdump -C (with '*' rows), acpidump, xxd, an
    iasl Raw Table Data block, with a BOM or a lower-case heading now and then."""
    form = rng.randrange(4)
    rows = [data[o:o + 16] for o in range(0, len(data), 16)]
    lines = []
    if form == 0:
        last = None
        for k, row in enumerate(rows):
            if row == last and lines[-1] != "*":
                lines.append("*")
            elif row != last:
                hexes = " ".join(f"{c:02x}" for c in row[:8]) + "  " + " ".join(f"{c:02x}" for c in row[8:])
                lines.append(f"{16 * k:08x}  {hexes}  |{''.join(chr(c) if 32 <= c < 127 else '.' for c in row)}|")
            last = row
        lines.append(f"{len(data):08x}")
    else:
        if form == 1:
            lines.append(f"{data[:4].decode('latin-1').lower() if rng.random() < 0.3 else 'HEST'} @ 0x0")
        elif form == 3:
            lines.append(f"Raw Table Data: Length {len(data)} (0x{len(data):X})")
            lines.append("")
        for k, row in enumerate(rows):
            lines.append(f"    {16 * k:04X}: " + " ".join(f"{c:02X}" for c in row))
    text = "\n".join(lines) + "\n"
    return (("\ufeff" if rng.random() < 0.2 else "") + text).encode()


def mutate_text(text: bytes, rng: random.Random) -> bytes:
    """Line-level damage: a '*' with a huge offset after it, offsets that lie, lines dropped."""
    lines = text.decode("utf-8", "replace").split("\n")
    for _ in range(rng.choice((1, 1, 2))):
        op = rng.randrange(4)
        i = rng.randrange(len(lines))
        if op == 0:       # the '*' bomb
            lines[i:i] = ["*", f"{rng.choice((0xFFFFFFFF0, 1 << 40, 0x4000010, rng.getrandbits(36))):08x}"]
        elif op == 1:     # an offset that lies
            lines[i] = f"{rng.getrandbits(32):08x}" + lines[i][8:]
        elif op == 2:
            del lines[i]
        else:
            lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]
    return "\n".join(lines).encode()


def run_text(data: bytes) -> str:
    import apeitool
    apeitool.decode_bytes(data, "fuzz")
    return "decoded"


class Endless:
    """A read-only binary file that never ends: zeros, random bytes, or one seed over and over
    (/dev/zero, /dev/urandom, a pipe that never closes)."""

    def __init__(self, kind: str, seed: bytes, rng: random.Random):
        self.kind, self.seed, self.rng, self.closed = kind, seed or b"\0", rng, False

    def read(self, n: int = -1) -> bytes:
        n = 1 << 16 if n is None or n < 0 else min(n, 1 << 22)
        if self.kind == "zeros":
            return bytes(n)
        if self.kind == "random":
            return self.rng.randbytes(n)
        reps = n // len(self.seed) + 1
        return (self.seed * reps)[:n]

    def readline(self, n: int = -1) -> bytes:
        return self.read(n if n and n > 0 else 1 << 16)

    def peek(self, n: int = 1) -> bytes:
        return self.read(n)


def run_io(data: bytes) -> str:
    """One endless input through a reader, or one output to a device: an error or a result, in
    bounded time and memory."""
    import io
    rng = random.Random(data)
    kind = rng.choice(("zeros", "random", "seed"))
    which = rng.randrange(6)
    src = Endless(kind, data[:rng.randrange(1, 4096)] if kind == "seed" else b"", rng)
    if which == 0:
        from .inputs import read_stream
        read_stream(src, "fuzz", limit=96 << 20)   # the mechanism, not the 1 GiB default, per case
    elif which == 1:
        from .cper.windows import trailing_bytes, windows
        for w in windows(src, rng.choice(("record", "estatus")), "fuzz"):
            if w.last:
                break
        trailing_bytes(src, label="fuzz")
    elif which == 2:
        from .replay.stream import StreamStats, read_jsonl
        for _ in read_jsonl(src, "fuzz", StreamStats()):
            break
    elif which == 3:
        from .replay.stream import FILE_MAGIC, StreamStats, read_packed
        head = io.BytesIO(FILE_MAGIC)
        stream = io.BufferedReader(_Chain(head, src))
        n = 0
        for _ in read_packed(stream, "fuzz", StreamStats()):
            n += 1
            if n > 1000:
                break
    else:
        from .fileio import write_output
        target = "/dev/full" if which == 4 else "/dev/null"
        if not os.path.exists(target):
            return "decoded"
        write_output(target, data)
        if target == "/dev/full":
            raise AssertionError("a write to /dev/full succeeded")
    return "decoded"


class _Chain:
    """head's bytes, then the endless source (a raw stream for BufferedReader)."""

    def __init__(self, head, rest):
        self.head, self.rest, self.closed = head, rest, False

    def readable(self):
        return True

    def readinto(self, b):
        data = self.head.read(len(b)) or self.rest.read(len(b))
        b[:len(data)] = data
        return len(data)


RUNNERS = {"hest": run_hest, "bert": run_table, "einj": run_table, "erst": run_table,
           "cper-record": run_cper("record"), "cper-section": run_cper("section"),
           "cper-estatus": run_cper("estatus"), "packed-stream": run_packed, "spec": run_spec,
           "text-dump": run_text, "endless-io": run_io}
DECODERS = tuple(RUNNERS)


# -- the campaign -------------------------------------------------------------------------------------

@dataclass
class Tally:
    cases: int = 0
    decoded: int = 0
    clean_errors: int = 0
    failures: int = 0
    slowest: float = 0.0
    seconds: float = 0.0
    examples: List[str] = field(default_factory=list)


def _alarm(_sig, _frame):
    raise Hang()


def seeds_for(decoder: str, rng: random.Random, corpus: Optional[str]) -> List[bytes]:
    import apeitool
    found = corpus_seeds(corpus) if corpus and os.path.isdir(corpus) else {}
    if decoder in ("hest", "bert", "einj", "erst"):
        return [apeitool.build(s, decoder) for s in builtin_specs()[decoder]] + found.get(decoder, [])
    if decoder.startswith("cper-"):
        return builtin_cper(rng)[decoder] + found.get(decoder, [])
    if decoder == "packed-stream":
        return packed_seeds(rng)
    if decoder == "text-dump":
        tables = [apeitool.build(s, k) for k in ("hest", "bert", "einj", "erst") for s in builtin_specs()[k]]
        tables += [t[:36] + bytes(rng.randrange(16, 400)) + t[36:] for t in tables[:2]]   # rows that repeat
        return [text_dumps(t, rng) for t in tables for _ in range(3)]
    if decoder == "endless-io":
        return [apeitool.build(s, "hest") for s in builtin_specs()["hest"]] + packed_seeds(rng)[:2] + \
            builtin_cper(rng)["cper-record"][:4] + [b'{"at": 0, "event": "tick"}\n']
    # spec: decoded models of table and CPER seeds, as JSON and YAML text
    models = []
    for kind in ("hest", "bert", "einj", "erst"):
        for s in builtin_specs()[kind]:
            models.append(apeitool.decode_bytes(apeitool.build(s, kind))[0].model)
    for raw in builtin_cper(rng)["cper-record"][:6] + builtin_cper(rng)["cper-estatus"][:6]:
        models.append(apeitool.decode_bytes(raw, kind="cper")[0].model)
    return models


def fuzz(decoder: str, n: int, seed: int = 0, corpus: Optional[str] = None, save: Optional[str] = None,
         progress: Optional[Callable[[int], None]] = None) -> Tally:
    """Run `n` cases against one decoder; returns the tally (failures saved under `save`)."""
    from .render.data import to_yaml
    rng = random.Random(f"{decoder}/{seed}")
    seeds = seeds_for(decoder, rng, corpus)
    runner = RUNNERS[decoder]
    tally = Tally()
    old = signal.signal(signal.SIGPROF, _alarm)
    start = time.perf_counter()
    try:
        for i in range(n):
            if decoder == "spec":
                spec = mutate_spec(rng.choice(seeds), rng)
                data = (json.dumps(spec) if rng.random() < 0.7 else to_yaml(spec)).encode()
            elif decoder == "text-dump":
                data = mutate_text(rng.choice(seeds), rng)
            elif decoder == "endless-io":
                data = rng.choice(seeds) + rng.randbytes(8)
            else:
                data = mutate(rng.choice(seeds), decoder, rng, seeds)
            failure = None
            t0 = time.perf_counter()
            outcome = None
            try:
                signal.setitimer(signal.ITIMER_PROF, CASE_SECONDS)
                try:
                    runner(data)
                    outcome = "decoded"
                except ApeiError as e:
                    line = e.one_line()
                    if line and "\n" not in line:
                        outcome = "clean"
                    else:
                        failure = AssertionError(f"error message is not one line: {line!r}")
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
            except (Hang, MemoryError, RecursionError, Exception) as e:  # noqa: B014 - a finding either way
                if outcome is None:   # a timer that fired after the case ended is no finding
                    failure = e
            if outcome == "decoded":
                tally.decoded += 1
            elif outcome == "clean":
                tally.clean_errors += 1
            tally.slowest = max(tally.slowest, time.perf_counter() - t0)
            tally.cases += 1
            if progress and tally.cases % 1000 == 0:
                progress(1000)
            if failure is not None:
                _record(tally, failure, decoder, seed, i, data, save)
    finally:
        signal.signal(signal.SIGPROF, old)
    tally.seconds = time.perf_counter() - start
    return tally


def _record(tally: Tally, e: BaseException, decoder: str, seed: int, i: int, data: bytes,
            save: Optional[str]) -> None:
    tally.failures += 1
    what = "hang (> %.0f s)" % CASE_SECONDS if isinstance(e, Hang) else \
        f"{type(e).__name__}: {e}".splitlines()[0][:200]
    tally.examples.append(f"{decoder} case {i}: {what}")
    if save:
        os.makedirs(save, exist_ok=True)
        stem = os.path.join(save, f"{decoder}-{seed}-{i}")
        with open(stem + ".bin", "wb") as f:
            f.write(data)
        with open(stem + ".txt", "w") as f:
            f.write(what + "\n" + "".join(traceback.format_exception(e)))


def _job(args):
    decoder, n, seed, corpus, save = args
    return decoder, seed, fuzz(decoder, n, seed, corpus, save)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m apeitool.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000, help="cases per decoder (default 10000)")
    ap.add_argument("--decoder", action="append", choices=DECODERS, help="only these (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", help="a folder of seed files (e.g. ../shared/corpus)")
    ap.add_argument("--save", help="keep failing inputs and their tracebacks here")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--mem-limit-mb", type=int, default=2048, help="address-space limit per process")
    args = ap.parse_args(argv)
    import resource
    limit = args.mem_limit_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    decoders = args.decoder or list(DECODERS)
    per = max(1, args.n // max(1, args.jobs))
    tasks = []
    for d in decoders:     # each decoder's cases split over the jobs, each part with its own seed
        left = args.n
        for j in range(args.jobs):
            k = per if j < args.jobs - 1 else left
            if k > 0:
                tasks.append((d, k, args.seed * 1000 + j, args.corpus, args.save))
                left -= k
    totals: Dict[str, Tally] = {d: Tally() for d in decoders}
    if args.jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            results = pool.imap_unordered(_job, tasks)
            for d, _s, t in results:
                _add(totals[d], t)
    else:
        for task in tasks:
            d, _s, t = _job(task)
            _add(totals[d], t)
    print(f"{'decoder':15s} {'cases':>9s} {'decoded':>9s} {'clean err':>9s} {'failures':>8s} {'slowest':>8s} "
          f"{'cases/s':>8s}")
    bad = 0
    for d, t in totals.items():
        rate = t.cases / t.seconds if t.seconds else 0
        print(f"{d:15s} {t.cases:9d} {t.decoded:9d} {t.clean_errors:9d} {t.failures:8d} {t.slowest:7.2f}s "
              f"{rate:8.0f}")
        for ex in t.examples[:5]:
            print(f"    {ex}")
        bad += t.failures
    return 1 if bad else 0


def _add(total: Tally, t: Tally) -> None:
    total.cases += t.cases
    total.decoded += t.decoded
    total.clean_errors += t.clean_errors
    total.failures += t.failures
    total.slowest = max(total.slowest, t.slowest)
    total.seconds += t.seconds
    total.examples.extend(t.examples)


if __name__ == "__main__":
    sys.exit(main())
