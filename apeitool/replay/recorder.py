"""What a replay run produces: counters, the kernel log, actions, firmware violations and a timeline,
each list capped so that a stream of any length runs in flat memory (the counts stay exact)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

SUMMARY_KEYS = ("notifications", "records_read", "queued", "processed", "throttled", "dropped_pool", "printed",
                "ratelimited", "acked", "memory_failure_queued", "memory_failure_overflow", "panics")


@dataclass
class Capped:
    limit: int
    items: List = field(default_factory=list)
    dropped: int = 0

    def room(self) -> bool:
        """True when one more item is kept; otherwise it is counted as dropped. Callers ask before
        they format an item, so a long run past --keep does not build text nobody keeps."""
        if len(self.items) < self.limit:
            return True
        self.dropped += 1
        return False

    def add(self, item) -> None:
        if self.room():
            self.items.append(item)


class Recorder:
    def __init__(self, keep: int = 10000):
        self.counts: Dict[str, int] = {k: 0 for k in SUMMARY_KEYS}
        self.log = Capped(keep)
        self.actions = Capped(keep)
        self.violations = Capped(keep)
        self.timeline = Capped(keep)
        self.violation_counts: Dict[str, int] = {}
        self.now = 0.0
        self.where = ""
        self.event_at = None          # the stream event being handled: its place is made when needed
        self.label = ""
        self.tracer = None            # the kernel's RAS trace events go here (fleet/rasdaemon.Writer)

    def trace(self, event: str, **fields) -> None:
        if self.tracer is not None:
            self.tracer(event, self.now, **fields)

    def line(self, text: str) -> None:
        if self.log.room():
            self.log.items.append(f"[{self.now:12.6f}] {text}")

    def action(self, kind: str, **info) -> None:
        if self.actions.room():
            self.actions.items.append({"at": self.now, "action": kind, **info})

    def violation(self, vid: str, message: str, source=None) -> None:
        self.violation_counts[vid] = self.violation_counts.get(vid, 0) + 1
        item = {"id": vid, "at": self.now, "where": self.place(), "message": message}
        if source is not None:
            item["source"] = source
        self.violations.add(item)

    def event(self, what: str) -> None:
        self.timeline.add({"at": self.now, "where": self.place(), "what": what})

    def place(self) -> str:
        if self.event_at is not None:
            return self.event_at.place(self.label)
        return self.where

    def result(self, stream_stats=None, layout=None, stopped=None) -> dict:
        out = {"summary": dict(self.counts),
               "actions": self.actions.items, "violations": self.violations.items, "log": self.log.items,
               "violation_counts": dict(sorted(self.violation_counts.items())),
               "timeline": self.timeline.items}
        dropped = {k: getattr(self, k).dropped for k in ("log", "actions", "violations", "timeline")
                   if getattr(self, k).dropped}
        if dropped:
            out["not_kept"] = dropped
        if stream_stats is not None:
            out["stream"] = {"total": stream_stats.total, "processed": stream_stats.total - stream_stats.rejected,
                             "rejected": stream_stats.rejected, "problems": stream_stats.problems[:1000],
                             "problems_not_listed": stream_stats.unlisted}
        if layout is not None:
            out["layout"] = layout
        if stopped:
            out["stopped"] = stopped
        return out
