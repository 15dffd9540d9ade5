"""replay: a stream of firmware events through a model of Linux's GHES error handling.

    from apeitool.replay import replay, read_events
    result = replay(hest_model, events, kernel="v5.1")
    result["summary"]["dropped_pool"], result["violations"], result["log"]

The firmware side (firmware.py) owns the simulated memory of each GHES and writes records; the OS
side (kernel.py) reads, checks, clears, acknowledges, queues, throttles, prints and acts on them.
"""
from __future__ import annotations

from typing import Iterable, Optional

from .firmware import Firmware
from .kernel import HED, NMI, NMI_LIKE, POLLED, SEA, SEI, SDEI, Kernel, Panic
from .memory import PhysMem
from .recorder import SUMMARY_KEYS, Recorder
from .stream import Event, StreamStats, notify_name

KERNELS = ("v5.1", "v5.0")
CLASSES = {NMI: "nmi", SEA: "sea"}     # SDEI: normal or critical, by the event's priority
NESTING_MAX = 4   # NMI, SEA, SDEI normal, SDEI critical: the kernel's four NMI-like contexts

__all__ = ["replay", "KERNELS", "SUMMARY_KEYS", "Event", "StreamStats", "default_arch"]


def default_arch(hest: dict) -> str:
    from ..validate.rules_hest import infer_arches
    arches = infer_arches(hest)
    return arches[0] if len(arches) == 1 else "arm64"


class Simulation:
    def __init__(self, hest: dict, kernel: str = "v5.1", arch: Optional[str] = None, keep: int = 10000,
                 kernel_version=None, ram=None, panic_timeout: int = 0, sdei_critical=()):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r} (known: {', '.join(KERNELS)})")
        self.rec = Recorder(keep)
        self.mem = PhysMem()
        self.fw = Firmware(hest, self.mem, self.rec)
        self.arch = arch or default_arch(hest)
        self.kernel = Kernel(hest, self.fw, self.mem, self.rec, kernel, self.arch, kernel_version, ram,
                             panic_timeout, sdei_critical)
        self.covered = {}
        self.polled = self.kernel.lists.get(POLLED, [])

    # -- time ------------------------------------------------------------------------------------------
    def advance(self, t: float) -> None:
        k = self.kernel
        k.end_instant()
        for when, reg in (self._polls_due(t) if self.polled else ()):
            self.rec.now = when
            self.rec.event_at, self.rec.where = None, f"poll of source {reg.fw.sid}"
            before = dict(self.rec.counts) if self.rec.timeline.room() else None
            k.ghes_proc(reg, cpu=0)
            k.end_instant()
            self._note(f"poll source {reg.fw.sid}", before)
        self.rec.now = max(self.rec.now, t)

    def _polls_due(self, t: float):
        """At most one poll per polled source that has a record pending: the others find nothing."""
        due = []
        for reg in self.polled:
            if reg.next_poll is None or reg.next_poll > t:
                continue
            period = reg.poll_ms / 1000.0
            first = reg.next_poll
            if self.fw.pending(reg.fw):
                due.append((first, reg.fw.index, reg))
            skipped = int((t - first) // period) + 1
            reg.next_poll = first + skipped * period
        due.sort(key=lambda d: (d[0], d[1]))
        return [(when, reg) for when, _i, reg in due]

    # -- events ---------------------------------------------------------------------------------------------
    def handle(self, ev: Event) -> None:
        rec = self.rec
        if ev.at > rec.now:
            self.advance(ev.at)
        rec.event_at = ev
        before = dict(rec.counts) if rec.timeline.room() else None   # past --keep: counted, no text
        kind = ev.kind
        if kind == "write" or kind == "write_notify":
            src = self.fw.write(ev.source, ev.data)
            if kind == "write_notify" and src is not None and src.notify != ev.notify:
                self._check_route(ev, src)
            mc = self.kernel.assist_skipped.get(ev.source)
            if src is not None and mc is not None and not self.kernel.assist_noted.get(ev.source):
                self.kernel.assist_noted[ev.source] = True
                rec.violation("FW.ASSIST_SOURCE", f"source {ev.source} is a GHES_ASSIST helper of machine-check "
                              f"source {mc}: Linux skips it (GHES_ASSIST is not supported) and never reads "
                              f"its block; the machine-check bank reports the error", ev.source)
        if kind == "notify" or kind == "write_notify":
            self.notify(ev)
        if self.kernel.rcu_pending:
            self.kernel.end_of_notification()
        if before is not None:
            what = f"write source {ev.source} ({len(ev.data)} bytes)" if ev.data is not None else \
                ("tick" if kind == "tick" else "")
            if kind in ("notify", "write_notify"):
                what += ("; " if what else "") + f"notify {notify_name(ev.notify)} cpu {ev.cpu}"
            self._note(what, before)

    def _note(self, what: str, before: Optional[dict]) -> None:
        """A timeline entry: what happened and which counters it moved (`before` None: not kept,
        already counted by Capped.room)."""
        if before is None:
            return
        counts = self.rec.counts
        delta = [f"{k}+{counts[k] - before[k]}" for k in SUMMARY_KEYS if counts[k] != before[k]]
        self.rec.event(what + (f": {' '.join(delta)}" if delta else ""))

    def _check_route(self, ev: Event, src) -> None:
        same = ev.notify == src.notify or ev.notify in HED and src.notify in HED
        if not same:
            self.rec.violation("FW.NOTIFY_TYPE_MISMATCH", f"record for source {src.sid} (notified by "
                               f"{notify_name(src.notify)} in the HEST) announced by {notify_name(ev.notify)}",
                               src.sid)

    def notify(self, ev: Event) -> None:
        k, rec = self.kernel, self.rec
        rec.counts["notifications"] += 1
        n = ev.notify
        key = (n, ev.source)
        regs = self.covered.get(key)
        if regs is None:             # the registered lists never change after probe
            regs = self.covered[key] = k.covered(n, ev.source)
        if not regs and n == SDEI and ev.source is None:
            rec.violation("FW.SDEI_NO_EVENT", f"SDEI notification on cpu {ev.cpu} names no source: each SDEI "
                          f"GHES registers its own event number (notify.vector) and its handler reads only that "
                          f"source; give the event's source")
            return
        if not regs:
            rec.violation("FW.NOTIFY_NO_HANDLER", f"{notify_name(n)} notification on cpu {ev.cpu}: no GHES is "
                          f"registered for it on this kernel ({k.version}, {self.arch}): nothing is read")
            return
        pending = self.fw.pending
        for r in regs:
            if pending(r.fw):
                break
        else:
            rec.violation("FW.SPURIOUS_NOTIFY", f"{notify_name(n)} notification on cpu {ev.cpu} with no record "
                          f"pending in any of the {len(regs)} source(s) it covers")
        if n == SEA or n == SEI:
            cpus = k.instant_sync_cpus
            others = cpus - {ev.cpu} if cpus else None
            if others:
                rec.violation("FW.SYNC_AMBIGUOUS", f"{notify_name(n)} on cpu {ev.cpu} while cpu(s) "
                              f"{sorted(others)} took one in the same instant: the handler walks every SEA "
                              f"source and cannot tell which CPU's context a record belongs to")
            k.instant_sync_cpus.add(ev.cpu)
        if n in NMI_LIKE:
            stack = k.nesting.setdefault(ev.cpu, [])
            cls = CLASSES[n] if n != SDEI else k.sdei_class(regs)
            if not ev.nested:
                stack[:] = [cls]
            else:
                if cls == "sdei_normal" and "sdei_critical" in stack:
                    rec.violation("FW.SDEI_PRIORITY", f"normal-priority SDEI event for source {ev.source} "
                                  f"delivered inside a critical one on cpu {ev.cpu}: a critical event may "
                                  f"interrupt a normal one, never the reverse (SDEI dispatcher rules)")
                if cls in stack:
                    rec.violation("FW.NMI_REENTRY", f"{notify_name(n)} nested inside a {cls} handler on cpu "
                                  f"{ev.cpu}: the same context cannot nest (its raw spinlock is held)")
                if len(stack) >= NESTING_MAX:
                    rec.violation("FW.NMI_NESTING", f"NMI-like notification nested {len(stack) + 1} deep on cpu "
                                  f"{ev.cpu}: the kernel has {NESTING_MAX} such contexts")
                stack.append(cls)
        k.notify(n, ev.cpu, ev.source, ev.nested, regs, ev.context)

    def finish(self, stats: Optional[StreamStats] = None) -> dict:
        if not self.kernel.stopped:
            self.rec.event_at, self.rec.where = None, "end of stream"
            self.advance(self.rec.now)
            self.fw.pending_at_end()
        return self.rec.result(stats, self.fw.layout, self.kernel.stopped)


def replay(hest: dict, events: Iterable[Event], kernel: str = "v5.1", arch: Optional[str] = None,
           keep: int = 10000, stats: Optional[StreamStats] = None, label: str = "",
           kernel_version=None, ram=None, panic_timeout: int = 0, sdei_critical=(), tracer=None) -> dict:
    """Run `events` against the HEST model; returns the result document (see Recorder.result).
    `label` names the stream in the places of packed-stream events ("s.apeirpl: frame 17");
    `tracer(event, now, **fields)` receives the RAS trace events (fleet/rasdaemon.Writer)."""
    sim = Simulation(hest, kernel, arch, keep, kernel_version, ram, panic_timeout, sdei_critical)
    sim.rec.label = label
    sim.rec.tracer = tracer
    try:
        for ev in events:
            sim.handle(ev)
    except Panic:
        pass
    return sim.finish(stats)
