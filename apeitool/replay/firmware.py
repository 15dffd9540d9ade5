"""The firmware side of a replay: memory for each GHES/GHESv2 (status-address register, status block,
read-ack register), records written into blocks, and the protocol rules firmware must keep."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from ..validate.engine import enum_int
from .memory import PAGE, PhysMem, access_bytes
from .records import estatus_ok

BLOCK_ALIGN = 8
ESTATUS_MAX = 65536   # GHES_ESTATUS_MAX_SIZE: the kernel's per-source buffer


@dataclass
class FwSource:
    index: int
    sid: int
    type: int                      # 9 GHES, 10 GHESv2
    notify: int
    enabled: bool
    block_length: int
    status_gas: dict
    ack_gas: Optional[dict]
    preserve: int
    write: int
    status_reg: int = 0            # where the status-address register is (after layout)
    ack_reg: int = 0
    block: int = 0                 # the status block's physical address
    acked: bool = True             # GHESv2: the OS acknowledged the last record
    relocated: bool = False
    status_size: int = 8           # bytes one access to each register moves
    ack_size: int = 8
    ack_off: int = 0


def ghes_sources(hest: dict) -> List[FwSource]:
    out = []
    for i, s in enumerate(hest.get("sources", [])):
        t = enum_int("hest_type", s.get("type"))
        if t not in (9, 10):
            continue
        out.append(FwSource(i, s["source_id"], t, enum_int("notify_type", s["notify"]["type"]),
                            s.get("enabled", 1) != 0, s["error_status_block_length"], s["error_status_address"],
                            s.get("read_ack_register") if t == 10 else None, s.get("read_ack_preserve", 0),
                            s.get("read_ack_write", 0)))
    return out


class Firmware:
    def __init__(self, hest: dict, mem: PhysMem, rec):
        self.mem, self.rec = mem, rec
        self.sources = ghes_sources(hest)
        self.by_id: Dict[int, FwSource] = {}
        for s in self.sources:
            self.by_id.setdefault(s.sid, s)
        self.layout = self._lay_out()
        self.acking = [s for s in self.sources if s.ack_gas is not None]
        self.ack_pages = {s.ack_reg // PAGE for s in self.acking} | {(s.ack_reg + s.ack_size - 1) // PAGE
                                                                      for s in self.acking}
        mem.on_write = self._watch

    # -- memory layout ------------------------------------------------------------------------------
    def _lay_out(self) -> List[dict]:
        """Registers at the addresses the HEST names, shared or overlapping where it says so: ghes.c
        never checks, so guest memory is simply memory (a status register two sources name is one
        register pointing at one block; an ack register two sources name is written by both). Only
        a register at address 0, which Linux refuses, is put elsewhere, so the firmware side has
        somewhere to write. Blocks go after every address the HEST names."""
        top = max([s.status_gas["address"] for s in self.sources] +
                  [s.ack_gas["address"] for s in self.sources if s.ack_gas] + [0])
        auto = (top // PAGE + 1) * PAGE + 0x10000

        def place(addr, size):
            nonlocal auto
            if addr:
                return addr, False
            addr, auto = auto, auto + max(size, 8)
            return addr, True

        for s in self.sources:
            s.status_size = access_bytes(s.status_gas)
            if s.ack_gas is not None:
                s.ack_size, s.ack_off = access_bytes(s.ack_gas), s.ack_gas.get("bit_offset", 0)
            s.status_reg, moved = place(s.status_gas["address"], s.status_size)
            s.relocated |= moved
            if s.ack_gas is not None:
                s.ack_reg, moved = place(s.ack_gas["address"], s.ack_size)
                s.relocated |= moved
        auto = (auto // PAGE + 1) * PAGE
        sharers: Dict[int, List[FwSource]] = {}
        for s in self.sources:
            sharers.setdefault(s.status_reg, []).append(s)
        block_at: Dict[int, int] = {}
        for reg, group in sharers.items():      # one block per status register, as long as its longest user
            block_at[reg] = auto
            size = max(g.block_length for g in group)
            auto += (size + BLOCK_ALIGN - 1) // BLOCK_ALIGN * BLOCK_ALIGN or BLOCK_ALIGN
        for s in self.sources:
            s.block = block_at[s.status_reg]
            self.mem.store_int(s.status_reg, s.status_size, s.block)
        for s in self.sources:
            if s.ack_gas is not None:   # the register starts "acknowledged", as QEMU's does
                old = self.mem.read_int(s.ack_reg, s.ack_size)
                self.mem.store_int(s.ack_reg, s.ack_size, old | s.write << s.ack_off)
        self.ack_sharers = {}
        for s in self.sources:
            if s.ack_gas is not None:
                self.ack_sharers.setdefault(s.ack_reg, []).append(s)
        out = []
        for s in self.sources:
            item = {"source_id": s.sid, "status_address_register": s.status_reg, "block": s.block,
                    "block_length": s.block_length}
            if s.ack_gas is not None:
                item["read_ack_register"] = s.ack_reg
            if s.relocated:
                item["relocated"] = True
                self.rec.violation("FW.LAYOUT_RELOCATED",
                                   f"source {s.sid}: a register address is 0; laid out at 0x{s.status_reg:X}"
                                   + (f"/0x{s.ack_reg:X}" if s.ack_gas else "")
                                   + " for the firmware side (Linux refuses a register at address 0)", s.sid)
            others = [g.sid for g in sharers[s.status_reg] if g is not s]
            if others:
                item["shares_status_register_with"] = others
            out.append(item)
        self._layout_hazards(sharers)
        return out

    def _layout_hazards(self, sharers: Dict[int, List[FwSource]]) -> None:
        """What shared and overlapping registers do, said once per register."""
        for reg, group in sharers.items():
            if len(group) > 1:
                ids = [g.sid for g in group]
                self.rec.violation("FW.SHARED_STATUS_REGISTER",
                                   f"sources {ids} share the Error Status Address register 0x{reg:X}: one "
                                   f"status block; a notification on any of them reads (and clears) the "
                                   f"record written for another and reports it under its own Source Id", ids[0])
        regs = [(s.status_reg, s.status_size, s, "Error Status Address") for s in self.sources] + \
               [(s.ack_reg, s.ack_size, s, "Read Ack") for s in self.sources if s.ack_gas is not None]
        seen = set()
        for i, (a, n, s, what) in enumerate(regs):
            for b, m, t, what2 in regs[i + 1:]:
                if (a, n) == (b, m) and what == what2:
                    continue                      # the same register: sharing, said above / below
                if a < b + m and b < a + n and (s.sid, t.sid, what, what2) not in seen:
                    seen.add((s.sid, t.sid, what, what2))
                    self.rec.violation("FW.REGISTER_OVERLAP",
                                       f"source {s.sid}'s {what} register 0x{a:X} ({n} bytes) overlaps source "
                                       f"{t.sid}'s {what2} register 0x{b:X} ({m} bytes): a write to one "
                                       f"changes what the other reads", s.sid)
        for s in self.sources:
            if self.mem.read_int(s.status_reg, s.status_size) != s.block:
                self.rec.violation("FW.REGISTER_OVERLAP",
                                   f"source {s.sid}: its Error Status Address register reads "
                                   f"0x{self.mem.read_int(s.status_reg, s.status_size):X}, not its block "
                                   f"0x{s.block:X}, once every register is written: the OS looks there", s.sid)
        for reg, group in self.ack_sharers.items():
            if len(group) < 2:
                continue
            for i, s in enumerate(group):
                clash = [t.sid for t in group[i + 1:] if (s.write << s.ack_off) & (t.write << t.ack_off)
                         or s.write == t.write]
                if clash:
                    self.rec.violation("FW.SHARED_ACK_AMBIGUOUS",
                                       f"sources {[s.sid] + clash} share the Read Ack register 0x{reg:X} and "
                                       f"their Read Ack Write values share bits: firmware cannot tell whose "
                                       f"record was read", s.sid)

    def _watch(self, addr: int, size: int) -> None:
        """OS writes: an acknowledgement of a GHESv2 record."""
        if addr // PAGE not in self.ack_pages and (addr + size - 1) // PAGE not in self.ack_pages:
            return
        for s in self.acking:
            if addr < s.ack_reg + s.ack_size and s.ack_reg < addr + size:
                if len(self.ack_sharers.get(s.ack_reg, ())) > 1 and s.write:
                    # a shared doorbell: a source is acked when its own Write value is in the register
                    mask = s.write << s.ack_off
                    s.acked = s.acked or self.mem.read_int(s.ack_reg, s.ack_size) & mask == mask
                else:
                    s.acked = True

    # -- firmware actions -----------------------------------------------------------------------------
    def pending(self, s: FwSource) -> bool:
        return self.mem.read_int(s.block, 4) != 0

    def write(self, sid: int, data: bytes) -> Optional[FwSource]:
        s = self.by_id.get(sid)
        if s is None:
            self.rec.violation("FW.UNKNOWN_SOURCE", f"write to source {sid}: the HEST has no GHES with that id", sid)
            return None
        if s.type == 10 and not s.acked:
            self.rec.violation("FW.OVERWRITE_UNACKED", f"source {sid}: new record written before the OS "
                                                       f"acknowledged the last one (GHESv2 read-ack)", sid)
        elif self.pending(s):
            self.rec.violation("FW.OVERWRITE_PENDING", f"source {sid}: new record written while the last one "
                                                       f"is still pending (block_status not cleared)", sid)
        if len(data) > s.block_length:
            self.rec.violation("FW.RECORD_TOO_LONG", f"source {sid}: {len(data)}-byte record in a "
                                                     f"{s.block_length}-byte status block: cut to the block", sid)
            data = data[:s.block_length]
        if len(data) > ESTATUS_MAX:
            self.rec.violation("FW.RECORD_OVER_KERNEL_BUFFER", f"source {sid}: {len(data)}-byte record: Linux "
                                                                f"reads at most {ESTATUS_MAX} bytes of a status "
                                                                f"block (GHES_ESTATUS_MAX_SIZE) and rejects it as "
                                                                f"\"Invalid error status block length!\"", sid)
        if len(data) > PAGE:
            self.rec.violation("FW.RECORD_OVER_PAGE", f"source {sid}: {len(data)}-byte record is longer than a "
                                                      f"page (before v5.1 the NMI estatus pool was page-sized "
                                                      f"chunks: the NMI path drops such a record unseen)", sid)
        if len(data) >= 4 and not int.from_bytes(data[:4], "little"):
            self.rec.violation("FW.BLOCK_STATUS_ZERO", f"source {sid}: record written with block_status 0: "
                                                       f"the OS will not see it", sid)
        elif not estatus_ok(data):
            self.rec.violation("FW.BAD_RECORD", f"source {sid}: the record fails cper_estatus_check", sid)
        self.mem.store(s.block, data)
        if s.type == 10:   # take the acknowledgement back, as QEMU does before it raises the error
            acked = self.mem.read_int(s.ack_reg, s.ack_size)
            self.mem.store_int(s.ack_reg, s.ack_size, acked & ~(s.write << s.ack_off))
            s.acked = False
        return s

    def pending_at_end(self) -> None:
        for s in self.sources:
            if self.pending(s):
                self.rec.violation("FW.PENDING_AT_END", f"source {s.sid}: block_status still set at the end: "
                                                        f"the OS never consumed the record", s.sid)
