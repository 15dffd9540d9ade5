"""Replay event streams: JSON Lines (for authoring), a packed binary frame format (for large
captures, CRC-checked frame by frame), and bare files of CPER records or status blocks.

Every reader is a generator: a stream of any size is read in constant memory.

Packed format: the 8-byte file magic b"APEIRPL\\x01", then frames of
    magic b"\\xA5\\x5A" | kind u8 | notify u8 | cpu u16 | source u16 | seq u32 | time_ns u64 | length u32
    | payload (length bytes) | CRC-32 u32 of everything before it in the frame
kinds: 1 write, 2 notify, 3 tick, 4 write + notify, 5 end (payload: u32 frame count); bit 7 of kind
marks a nested notification, bits 6:5 the context a synchronous notification (SEA/SEI) interrupted
(0 user, 1 kernel, 2 guest). notify 0xFF and source 0xFFFF mean "none". Frames are numbered from 0;
a corrupted frame is skipped by scanning for the next frame whose CRC holds, and the numbering says
how many were lost, so processed + rejected = total.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

from ..errors import InputError
from ..schemas.values import loads_json, value_error_text

FILE_MAGIC = b"APEIRPL\x01"
FRAME_MAGIC = b"\xA5\x5A"
FRAME = struct.Struct("<2sBBHHIQI")
CRC_SIZE = 4
CRC_FIELD = struct.Struct("<I")
MAX_PAYLOAD = 1 << 20                      # no status block comes near 1 MiB: larger is corruption
MAX_GARBAGE = 64 << 20                     # corruption this long without a good frame: stop reading
KINDS = {"write": 1, "notify": 2, "tick": 3, "write_notify": 4, "end": 5}
KIND_NAMES = {v: k for k, v in KINDS.items()}
END, WRITE, WRITE_NOTIFY = KINDS["end"], KINDS["write"], KINDS["write_notify"]
NESTED = 0x80
CONTEXTS = ("user", "kernel", "guest")    # what a SEA/SEI interrupted (kind bits 6:5 in packed frames)
CONTEXT_SHIFT = 5
NO_NOTIFY, NO_SOURCE = 0xFF, 0xFFFF


@dataclass
class Event:
    at: float
    kind: str                     # write | notify | tick | write_notify
    source: Optional[int] = None
    cpu: int = 0
    notify: Optional[int] = None  # HEST notification type number
    data: Optional[bytes] = None  # the status block bytes a write puts into the source's block
    nested: bool = False
    where: str = ""               # "line 3" / "frame 17": for messages
    frame: int = -1               # packed streams: the frame number (where is made from it on demand)
    context: str = "user"         # SEA/SEI: user task, kernel code, or a KVM guest (apei_claim_sea(NULL))

    def place(self, label: str = "") -> str:
        return self.where or (f"{label}: frame {self.frame}" if self.frame >= 0 else "")


MAX_AT = 18_000_000_000.0     # seconds: the packed format's u64 nanoseconds end at 1.8e10
MAX_LINE = 64 << 20           # a JSON Lines line longer than this is no event
MAX_PROBLEMS = 1000


@dataclass
class StreamStats:
    total: int = 0
    rejected: int = 0
    problems: List[str] = field(default_factory=list)
    damaged: bool = False     # cut short, garbage after the end: data may be missing
    unlisted: int = 0         # problems past the first MAX_PROBLEMS, counted only

    def note(self, text: str, always: bool = False) -> None:
        """A problem line; an endless bad stream keeps a bounded list (`always`: the lines that
        say why reading stopped, which must not be lost behind a thousand others)."""
        if always or len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.unlisted += 1

    @property
    def lossy(self) -> bool:
        return bool(self.rejected) or self.damaged


def notify_number(value, where: str = "") -> int:
    from ..validate.engine import enum_int
    if isinstance(value, str):
        n = enum_int("notify_type", value.upper().replace("-", "_"))
        if n is None:
            raise InputError(f"{where}: unknown notification type {value!r}")
        return n
    if isinstance(value, int) and 0 <= value < 0xFF:
        return value
    raise InputError(f"{where}: notification type must be a name or a number, got {value!r}")


def notify_name(n: Optional[int]) -> str:
    from ..names import NOTIFY_TYPE
    return "-" if n is None else NOTIFY_TYPE.get(n, str(n))


# -- JSON Lines -------------------------------------------------------------------------------------

_EVENT_KEYS = {"at", "event", "source", "cpu", "type", "notify", "estatus", "hex", "nested", "context"}


def _estatus_bytes(obj, where: str) -> bytes:
    from ..cper import build_document
    from ..errors import ApeiError
    try:
        return build_document(obj, "estatus")
    except ApeiError as e:
        raise InputError(f"{where}: estatus: {e.one_line()}") from None


def parse_event(obj, where: str) -> Event:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: an event is a JSON object")
    unknown = set(obj) - _EVENT_KEYS
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: "
                         f"{', '.join(sorted(_EVENT_KEYS))})")
    kind = obj.get("event")
    at = obj.get("at", 0.0)
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at <= MAX_AT:
        raise InputError(f"{where}: at: {at!r} is not a time in seconds from 0 to {MAX_AT:.0f}")
    cpu = obj.get("cpu", 0)
    source = obj.get("source")
    for name, v in (("cpu", cpu), ("source", source)):
        if v is not None and (not isinstance(v, int) or not 0 <= v < 0xFFFF):
            raise InputError(f"{where}: '{name}' must be an integer 0..65534")
    ev = Event(float(at), kind, source, cpu, nested=bool(obj.get("nested")), where=where)
    context = obj.get("context", "user")
    if context not in CONTEXTS:
        raise InputError(f"{where}: context: {context!r} is not one of {', '.join(CONTEXTS)}")
    ev.context = context
    if kind == "write":
        if source is None:
            raise InputError(f"{where}: a write needs 'source'")
        if ("estatus" in obj) == ("hex" in obj):
            raise InputError(f"{where}: a write needs 'estatus' (a status block spec) or 'hex'")
        if "hex" in obj:
            try:
                ev.data = bytes.fromhex(obj["hex"])
            except (TypeError, ValueError):
                raise InputError(f"{where}: 'hex' is not a string of hex digits") from None
        else:
            ev.data = _estatus_bytes(obj["estatus"], where)
        if obj.get("notify") is not None:
            ev.kind, ev.notify = "write_notify", notify_number(obj["notify"], where)
    elif kind == "notify":
        if "type" not in obj:
            raise InputError(f"{where}: a notify needs 'type'")
        ev.notify = notify_number(obj["type"], where)
    elif kind != "tick":
        raise InputError(f"{where}: 'event' must be write, notify or tick, got {kind!r}")
    return ev


def read_jsonl(f, label: str, stats: StreamStats) -> Iterator[Event]:
    """Events from a binary file of JSON Lines, one line at a time (at most MAX_LINE bytes each),
    in time order. A bad line is an error naming it, except a last line cut short (no newline at
    the end of the input: an interrupted capture), which is counted as rejected and reported."""
    last_at, n = 0.0, 0
    while True:
        raw = f.readline(MAX_LINE + 1)
        if not raw:
            return
        n += 1
        where = f"{label}: line {n}"
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise InputError(f"{where}: longer than {MAX_LINE >> 20} MiB: not an event line")
        cut = not raw.endswith(b"\n")
        try:
            line = raw.decode("utf-8").strip()
            if not line or line.startswith("#"):
                continue
            obj = loads_json(line)
        except RecursionError:
            raise InputError(f"{where}: nested too deep: not an event") from None
        except (UnicodeDecodeError, ValueError) as e:
            if cut:
                stats.total += 1
                stats.rejected += 1
                stats.damaged = True
                stats.note(f"{where}: the last line is cut short (no newline at the end) and is "
                           f"not valid JSON: ignored")
                return
            what = f"invalid JSON at column {e.colno}: {e.msg}" if isinstance(e, json.JSONDecodeError) \
                else "not UTF-8" if isinstance(e, UnicodeDecodeError) else f"invalid JSON: {value_error_text(e)}"
            raise InputError(f"{where}: {what}") from None
        if isinstance(obj, list):
            raise InputError(f"{where}: a JSON array: replay reads JSON Lines, one event object per line")
        stats.total += 1
        ev = parse_event(obj, where)
        if ev.at < last_at:
            raise InputError(f"{where}: at: {ev.at} is earlier than the event before ({last_at}): events "
                             f"must be in time order")
        last_at = ev.at
        yield ev


def event_json(ev: Event) -> dict:
    out = {"at": ev.at, "event": "write" if ev.kind == "write_notify" else ev.kind}
    if ev.source is not None:
        out["source"] = ev.source
    if ev.cpu:
        out["cpu"] = ev.cpu
    if ev.kind == "notify":
        out["type"] = notify_name(ev.notify)
    if ev.kind == "write_notify":
        out["notify"] = notify_name(ev.notify)
    if ev.data is not None:
        out["hex"] = ev.data.hex()
    if ev.nested:
        out["nested"] = True
    if ev.context != "user":
        out["context"] = ev.context
    return out


# -- packed frames ----------------------------------------------------------------------------------

def _crc():
    import crcmod.predefined
    return crcmod.predefined.mkCrcFun("crc-32")


def pack_frame(ev: Event, seq: int, crc=None) -> bytes:
    crc = crc or _crc()
    payload = ev.data or b""
    if len(payload) > MAX_PAYLOAD:
        raise InputError(f"{ev.where or f'event {seq}'}: a write of {len(payload)} bytes is larger than a "
                         f"packed frame carries ({MAX_PAYLOAD} bytes; no status block comes near it)")
    kind = KINDS[ev.kind] | (NESTED if ev.nested else 0) | CONTEXTS.index(ev.context) << CONTEXT_SHIFT
    head = FRAME.pack(FRAME_MAGIC, kind, NO_NOTIFY if ev.notify is None else ev.notify, ev.cpu,
                      NO_SOURCE if ev.source is None else ev.source, seq, int(round(ev.at * 1e9)), len(payload))
    body = head + payload
    return body + crc(body).to_bytes(4, "little")


def pack_events(events, out) -> int:
    """Write events as a packed stream to binary file `out`; returns the frame count."""
    crc = _crc()
    out.write(FILE_MAGIC)
    seq = 0
    for ev in events:
        out.write(pack_frame(ev, seq, crc))
        seq += 1
    end = FRAME.pack(FRAME_MAGIC, KINDS["end"], NO_NOTIFY, 0, NO_SOURCE, seq, 0, 4) + seq.to_bytes(4, "little")
    out.write(end + crc(end).to_bytes(4, "little"))
    return seq


def read_packed(f, label: str, stats: StreamStats, chunk: int = 1 << 20) -> Iterator[Event]:
    """Frames of a packed stream; corrupted or lost frames are counted in stats, never raised."""
    crc = _crc()
    head = f.read(len(FILE_MAGIC))
    if head != FILE_MAGIC:
        raise InputError("not a packed replay stream (file magic APEIRPL\\x01 missing)", offset=0, source=label)
    buf = bytearray()
    base = len(FILE_MAGIC)        # file offset of buf[0]
    eof = False
    expected = 0                  # next frame number
    end_total = None
    cut = False
    last_ns = 0
    bad_since = None              # file offset where the current run of corruption began

    def fill(need: int) -> bool:
        nonlocal eof
        while len(buf) < need and not eof:
            data = f.read(max(chunk, need - len(buf)))
            if not data:
                eof = True
            buf.extend(data)
        return len(buf) >= need

    def lost(upto: int, why: str):
        nonlocal expected
        if upto > expected:
            stats.rejected += upto - expected
            stats.note(f"{label}: frames {expected}..{upto - 1} rejected: {why}")
            expected = upto

    # locals: this loop runs once per frame of streams with millions of frames
    unpack_from, head_size, magic_ok, names, view = FRAME.unpack_from, FRAME.size, FRAME_MAGIC, KIND_NAMES, memoryview
    crc_at = CRC_FIELD.unpack_from
    pos = 0
    while True:
        if pos > chunk:           # drop what is consumed: the window stays small
            del buf[:pos]
            base += pos
            pos = 0
        if len(buf) < pos + head_size and not fill(pos + head_size):
            if len(buf) > pos and any(buf[pos:]):
                stats.note(f"{label}: offset 0x{base + pos:X}: {len(buf) - pos} trailing bytes "
                                      f"(a cut frame)")
                cut = True
            break
        magic, kind, notify, cpu, source, seq, t_ns, length = unpack_from(buf, pos)
        end = pos + head_size + length + CRC_SIZE
        whole = magic == magic_ok and length <= MAX_PAYLOAD and (len(buf) >= end or fill(end))
        if magic == magic_ok and length <= MAX_PAYLOAD and not whole:
            stats.note(f"{label}: offset 0x{base + pos:X}: frame {expected} is cut short "
                                  f"({len(buf) - pos} of {end - pos} bytes)")
            cut = True
            break
        ok = whole and crc_at(buf, end - 4)[0] == crc(view(buf)[pos:end - 4])
        if not ok:
            stats.note(f"{label}: offset 0x{base + pos:X}: corrupted frame (bad magic, length or CRC)")
            if bad_since is None:
                bad_since = base + pos
            nxt = buf.find(FRAME_MAGIC, pos + 1)
            while nxt < 0 and not eof and base + len(buf) - bad_since <= MAX_GARBAGE:
                drop = len(buf) - 1          # scanned; the last byte may begin a magic
                del buf[:drop]
                base += drop
                pos = 0
                fill(len(buf) + chunk)
                nxt = buf.find(FRAME_MAGIC)
            if nxt < 0 or base + nxt - bad_since > MAX_GARBAGE:
                if nxt >= 0 or not eof:
                    stats.note(f"{label}: offset 0x{bad_since:X}: no good frame in the "
                               f"{MAX_GARBAGE >> 20} MiB after it: the rest is not read", always=True)
                    stats.damaged = True
                break
            pos = nxt
            continue
        pos = end
        kind_code = kind & 0x1F
        if kind_code == END:
            end_total = int.from_bytes(buf[pos - 8:pos - 4], "little")
            lost(end_total, "lost (corrupted or missing)")
            after = _count_after(f, buf, pos)
            if after:
                stats.note(f"{label}: offset 0x{base + pos:X}: {after} bytes after the end frame")
                stats.damaged = True
            break
        if seq != expected:
            if seq < expected:
                stats.note(f"{label}: frame {seq} out of order or repeated: ignored")
                if bad_since is None:
                    bad_since = base + pos
                if base + pos - bad_since > MAX_GARBAGE:
                    stats.note(f"{label}: offset 0x{bad_since:X}: no usable frame in the {MAX_GARBAGE >> 20} "
                               f"MiB after it: the rest is not read", always=True)
                    stats.damaged = True
                    break
                continue
            lost(seq, "lost (corrupted or missing)")
        expected = seq + 1
        name = names.get(kind_code)
        if name is None:
            stats.rejected += 1
            stats.note(f"{label}: frame {seq}: unknown kind {kind_code}")
            continue
        if t_ns < last_ns:
            raise InputError(f"{label}: frame {seq}: at: {t_ns / 1e9} is earlier than the frame before "
                             f"({last_ns / 1e9}): events must be in time order")
        last_ns = t_ns
        payload = bytes(view(buf)[pos - 4 - length:pos - 4]) if kind_code == WRITE or kind_code == WRITE_NOTIFY \
            else None
        bad_since = None
        context = kind >> CONTEXT_SHIFT & 3
        if context >= len(CONTEXTS):
            stats.rejected += 1
            stats.note(f"{label}: frame {seq}: unknown context {context}")
            continue
        yield Event(t_ns / 1e9, name, None if source == NO_SOURCE else source, cpu,
                    None if notify == NO_NOTIFY else notify, payload, bool(kind & NESTED), "", seq,
                    CONTEXTS[context])
    if end_total is None:
        stats.note(f"{label}: no end frame: the stream is cut short", always=True)
        stats.damaged = True
        if cut:   # the cut frame is lost; how many came after it no one can say
            stats.rejected += 1
            expected += 1
        end_total = expected
    stats.total = end_total


def _count_after(f, buf, pos: int, chunk: int = 1 << 20, most: int = MAX_GARBAGE) -> int:
    """Bytes after the end frame (zero padding does not count), scanned in constant memory and
    at most `most` of them (an endless input stops there)."""
    n = len(buf) - pos if any(buf[pos:]) else 0
    zeros = 0 if n else len(buf) - pos
    while n + zeros < most:
        data = f.read(chunk)
        if not data:
            break
        if n or any(data):
            n += zeros + len(data)
            zeros = 0
        else:
            zeros += len(data)
    return n


# -- bare CPER files --------------------------------------------------------------------------------

def record_as_block(record: dict) -> bytes:
    """A CPER record's sections as the data entries of one status block (what a GHES would hold)."""
    from ..cper.estatus import build_block
    entries = []
    for sec in record["sections"]:
        d = sec["descriptor"]
        entries.append({"section_type": d["section_type"], "error_severity": d["section_severity"],
                        "revision": 0x300, "validation_bits": {"fru_id": d["validation_bits"]["fru_id"],
                                                               "fru_text": d["validation_bits"]["fru_text"]},
                        "flags": d["flags"], "fru_id": d["fru_id"], "fru_text": d["fru_text"],
                        "body": sec["body"] if sec.get("body") is not None else {"data": ""}})
    return build_block({"error_severity": record["header"]["error_severity"], "entries": entries})


def read_bare(data, label: str, stats: StreamStats, notify: int, source: Optional[int],
              interval: float) -> Iterator[Event]:
    """Each record/block of a CPER file written to `source` and notified, `interval` s apart."""
    from ..cper import iter_items, resolve_form
    from ..cper.estatus import estatus_len
    form = resolve_form(data, None, label)
    if form == "section":
        raise InputError("a file of descriptor+body sections has no severity to replay: give records "
                         "or status blocks", source=label)
    for i, (model, _w, pos, length) in enumerate(iter_items(data, form, label)):
        stats.total += 1
        block = bytes(data[pos:pos + max(length, estatus_len(model))]) if form == "estatus" \
            else record_as_block(model)
        yield Event(i * interval, "write_notify", source, 0, notify, block, where=f"{label}: item {i}")
