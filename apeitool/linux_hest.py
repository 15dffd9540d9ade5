"""What Linux does with a HEST before any error arrives (drivers/acpi/apei/hest.c apei_hest_parse,
ghes.c ghes_probe): which entries its walk reaches, which GHES it leaves to a machine-check driver
as GHES_ASSIST helpers, which notification types a kernel registers. The validate rules and the
replay kernel model both ask here, so they cannot disagree."""
from __future__ import annotations

from typing import Callable, Iterator, Optional, Sequence, Tuple

MC_TYPES = (0, 1, 11)       # IA-32 machine check, corrected machine check, deferred machine check
GHES_TYPES = (9, 10)        # GHES, GHESv2


def hest_walk(sources: Sequence[dict], count: int, type_of: Callable[[dict], int]
              ) -> Iterator[Tuple[int, int, dict, bool]]:
    """(index, type, source, assist_skipped) for the first `count` entries, as apei_hest_parse passes
    them on; a GHES whose Related Source Id names the latest machine-check source of a type that set
    GHES_ASSIST is skipped (that driver reads it)."""
    assist = {}
    for i, s in enumerate(sources[:count]):
        t = type_of(s)
        if t in MC_TYPES:
            assist[t] = s.get("source_id") if s.get("flags", {}).get("ghes_assist") else None
            yield i, t, s, False
            continue
        linked = [v for v in assist.values() if v is not None]
        yield i, t, s, t in GHES_TYPES and s.get("related_source_id") in linked


def notify_unsupported(notify: int, arch: str, sdei: bool = True) -> Optional[str]:
    """Why ghes_probe refuses a notification type on this kernel: the tail of its message
    ("notified via SEA is not supported") or "Unknown notification type"; None when supported.
    `sdei` is False for kernels before SDEI notification support (v5.0)."""
    if notify == 2:
        return "notified via local interrupt is not supported!"
    if notify in (5, 6, 9) or notify > 11 or notify == 11 and not sdei:
        return "Unknown notification type"          # CMCI, MCE, SEI and reserved values
    if notify == 4 and arch != "x86_64":
        return "notified via NMI interrupt is not supported!"
    if notify == 8 and arch != "arm64":
        return "notified via SEA is not supported"
    if notify == 11 and arch != "arm64":
        return "notified via SDE Interface is not supported!"
    return None


class LinuxView:
    """The error source entries apei_hest_parse walks: Error Source Count of them, from 0x28, each
    as long as its type says. Without zero gaps these are the model's first `count` sources; with
    gaps Linux reads the zeros as IA-32 MCE structures (Source Id 0, no banks) and may never reach
    the sources behind them, or land inside one.

    sources: what the kernel sees, in order; index: the model index of each (None for a structure
    only Linux sees); offset: its byte offset when known; failure: the kernel's message when the
    walk aborts (the whole HEST is then disabled), with the offset and model index it names."""

    def __init__(self, sources, index, offset, failure=None, failure_offset=None):
        self.sources, self.index, self.offset = sources, index, offset
        self.failure, self.failure_offset = failure, failure_offset

    @property
    def phantoms(self):
        return [k for k, i in enumerate(self.index) if i is None]


def linux_view(model: dict) -> LinuxView:
    sources = model.get("sources", [])
    count = model.get("error_source_count", len(sources))
    if not model.get("gaps"):
        n = min(count, len(sources))
        return LinuxView(sources[:n], list(range(n)), [None] * n)
    from .errors import ApeiError
    from .model import parse_fixed
    from .schemas.hest import HEST_HEADER_SIZE, MC_BANK_SIZE, SOURCE_STRUCTS
    from .tables import build_table
    from .tables.hest import SHAPES, walk
    try:
        table = build_table(model, "HEST")
    except ApeiError:
        n = min(count, len(sources))
        return LinuxView(sources[:n], list(range(n)), [None] * n)
    at_index = {}
    for off, struct, path in walk(table):
        if path.startswith("sources[") and "." not in path:
            at_index[off] = int(path[8:-1])
    seen, index, offsets = [], [], []
    off = HEST_HEADER_SIZE
    for _ in range(count):
        if len(table) - off < 4:
            return LinuxView(seen, index, offsets, "[Firmware Bug]: HEST: Table contents overflow for "
                             "hardware error source: 0.", off)
        t = int.from_bytes(table[off:off + 2], "little")
        sid = int.from_bytes(table[off + 2:off + 4], "little")
        if t not in SHAPES:
            return LinuxView(seen, index, offsets, f"[Firmware Warn]: HEST: Unknown or unused hardware error "
                             f"source type: {t} for hardware error source: {sid}.", off)
        length, banks_at = SHAPES[t]          # hest_esrc_len: the fixed part and its banks
        if banks_at is not None and off + banks_at < len(table):
            length += table[off + banks_at] * MC_BANK_SIZE
        if off + length > len(table):
            return LinuxView(seen, index, offsets, f"[Firmware Bug]: HEST: Table contents overflow for "
                             f"hardware error source: {sid}.", off)
        entry = parse_fixed(SOURCE_STRUCTS[t][0], table, off, "", "an error source")
        seen.append(sources[at_index[off]] if off in at_index else entry)
        index.append(at_index.get(off))
        offsets.append(off)
        off += length
    return LinuxView(seen, index, offsets)
