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
