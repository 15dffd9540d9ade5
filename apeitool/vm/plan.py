"""What a guest run needs, worked out before booting: guest memory for the HEST's registers and
the status blocks, the guest's script of firmware actions, and what cannot be delivered.

The layout is replay's (firmware.py): registers where the HEST puts them, blocks after them; so the
VM and the model read the same addresses. Everything must lie in one window of guest RAM that the
kernel is told to keep off (memmap=SIZE$START on x86), preloaded at boot by QEMU's loader device.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..errors import InputError

WINDOW_MIN = 16 << 20        # below this the kernel and its early allocations live
WINDOW_MAX_SIZE = 16 << 20   # the reserved window; records need far less
RAM_MIN = 512 << 20
RAM_MAX = 3 << 30            # x86 pc: RAM above ~3 GiB is moved past 4 GiB
DEFAULT_WINDOW = 0x1F000000  # --relocate puts registers here (QEMU measured: boots fine)
NMI, POLLED = 4, 0
DELIVERABLE = {"x86_64": {NMI: "HMP nmi from the host", POLLED: "the kernel's poll timer"}}


@dataclass
class Source:
    sid: int
    type: int
    notify: int
    status_reg: int
    status_size: int
    block: int
    block_length: int
    ack_reg: Optional[int] = None
    ack_size: int = 8
    ack_mask: int = 0            # the bits the OS sets when it acknowledges (write << bit offset)
    poll_ms: int = 0


@dataclass
class Plan:
    sources: Dict[int, Source]
    window: Tuple[int, int]                  # [start, end) reserved in the guest
    image: bytes                             # the window's contents at boot
    ram: int                                 # guest RAM in bytes
    steps: List[tuple] = field(default_factory=list)   # (event index, kind, args...)
    blobs: Dict[str, bytes] = field(default_factory=dict)
    undelivered: List[dict] = field(default_factory=list)

    @property
    def append(self) -> str:
        start, end = self.window
        return f"memmap=0x{end - start:x}${start:#x}"


def relocate(hest: dict, base: int = DEFAULT_WINDOW) -> dict:
    """A copy of the HEST whose GHES registers sit in the default window, 8 bytes apart, in source
    order (the layout the VM can reserve); everything else unchanged."""
    import copy
    from ..validate.engine import enum_int
    out = copy.deepcopy(hest)
    at = base
    for s in out.get("sources", []):
        if enum_int("hest_type", s.get("type")) not in (9, 10):
            continue
        for key in ("error_status_address", "read_ack_register"):
            if isinstance(s.get(key), dict) and s[key].get("address"):
                s[key] = dict(s[key], address=at)
                at += 8
    if isinstance(out.get("header"), dict):
        out["header"].pop("checksum", None)   # the addresses changed: derive it again
    return out


def complete(hest: dict) -> dict:
    """A spec with every default filled in (built and decoded), as replay and the guest need it."""
    import apeitool
    return apeitool.decode_bytes(apeitool.build(hest, "hest"))[0].model


def lay_out(hest: dict, arch: str = "x86_64") -> Plan:
    """Registers and blocks as replay lays them out, checked to fit a reservable window."""
    hest = complete(hest)
    from ..replay.firmware import Firmware
    from ..replay.memory import PhysMem
    from ..replay.recorder import Recorder
    fw = Firmware(hest, PhysMem(), Recorder(10))
    sources: Dict[int, Source] = {}
    spans = []
    for s in fw.sources:
        if s.sid in sources:
            continue
        src = Source(s.sid, s.type, s.notify, s.status_reg, s.status_size, s.block, s.block_length)
        hs = hest["sources"][s.index]
        src.poll_ms = hs["notify"].get("poll_interval", 0) if isinstance(hs.get("notify"), dict) else 0
        if s.ack_gas is not None:
            src.ack_reg, src.ack_size, src.ack_mask = s.ack_reg, s.ack_size, s.write << s.ack_off
        sources[s.sid] = src
        spans += [(s.status_reg, s.status_size), (s.block, max(s.block_length, 20))]
        if s.ack_gas is not None:
            spans.append((s.ack_reg, s.ack_size))
    if not sources:
        raise InputError("the HEST has no GHES/GHESv2 source: nothing for the kernel to read")
    lo = min(a for a, _n in spans) & ~0xFFF
    hi = (max(a + n for a, n in spans) + 0xFFF) & ~0xFFF
    for sid, src in sources.items():
        for what, addr in (("Error Status Address", src.status_reg), ("Read Ack Register", src.ack_reg)):
            if addr is not None and not WINDOW_MIN <= addr < RAM_MAX - (64 << 20):
                raise InputError(f"source {sid}: {what} 0x{addr:X} is outside guest RAM the VM can reserve "
                                 f"(0x{WINDOW_MIN:X}..0x{RAM_MAX - (64 << 20):X}): use --relocate")
    if hi - lo > WINDOW_MAX_SIZE:
        raise InputError(f"the registers and status blocks span 0x{lo:X}..0x{hi:X}, more than the "
                         f"{WINDOW_MAX_SIZE >> 20} MiB the VM reserves: use --relocate (or place them together)")
    image = bytearray(hi - lo)
    for src in sources.values():
        struct.pack_into("<Q", image, src.status_reg - lo, src.block)
        if src.ack_reg is not None:   # starts acknowledged, as QEMU's does (and replay's)
            value = int.from_bytes(image[src.ack_reg - lo:src.ack_reg - lo + src.ack_size], "little")
            image[src.ack_reg - lo:src.ack_reg - lo + src.ack_size] = \
                (value | src.ack_mask).to_bytes(src.ack_size, "little")
    ram = max(RAM_MIN, (hi + (256 << 20) + (1 << 27) - 1) & ~((1 << 27) - 1))
    if ram > RAM_MAX:
        raise InputError(f"the window ends at 0x{hi:X}: too high for the guest's RAM; use --relocate")
    return Plan(sources, (lo, hi), bytes(image), ram)


def add_events(plan: Plan, events, arch: str = "x86_64") -> None:
    """The guest script's steps for each event, and the notifications this guest cannot raise."""
    from ..replay.stream import notify_name
    last_at = 0.0
    can = DELIVERABLE.get(arch, {})
    for k, ev in enumerate(events):
        gap = max(0.0, ev.at - last_at)
        last_at = ev.at
        plan.steps.append((k, "mark", gap))
        if ev.kind in ("write", "write_notify"):
            src = plan.sources.get(ev.source)
            if src is None:
                plan.undelivered.append({"event": k, "why": f"source {ev.source} is no GHES of the HEST"})
            else:
                data = ev.data[:src.block_length]
                name = f"data/{k}.bin"
                plan.blobs[name] = data
                plan.steps.append((k, "write", src, name, len(data)))
        if ev.kind in ("notify", "write_notify"):
            if ev.notify in can:
                plan.steps.append((k, "notify", ev.notify, ev.cpu))
            else:
                plan.undelivered.append({"event": k, "why": f"{notify_name(ev.notify)} cannot be raised in a "
                                                          f"{arch} guest under TCG (only "
                                                          f"{', '.join(notify_name(n) for n in can)})"})
