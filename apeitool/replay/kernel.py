"""The OS side of a replay: Linux's GHES handling, after drivers/acpi/apei/ghes.c and hest.c.

Kernel eras come from --kernel-version through apeitool.kernel_versions (one table with the
printers'): from v5.1 the generalised estatus queue (../shared/reference/linux-ghes-cper.md §§8-16),
before it the old NMI-only queue (§14.6: SEA handled in place, pool grown per NMI source, no
read-ack on the NMI path); synchronous memory errors as each era handled them (queued, kicked
before the return to user from v5.8, action-required task_work from v6.9). Time is the stream's: events with one `at` happen in one instant, and the
deferred work of an instant (the irq_work that drains the estatus queue, the memory_failure
workers) runs when time moves on. A SEA taken outside another notification runs the irq_work at
once, as apei_claim_sea does when it returns to a context with interrupts enabled.
"""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import Dict, List, Optional

from ..linux_hest import GHES_TYPES, hest_walk, linux_view, notify_unsupported
from .firmware import Firmware, FwSource
from .memory import PAGE, PhysMem
from .records import estatus_ok, plan

GHES_SEV_NO, GHES_SEV_CORRECTED, GHES_SEV_RECOVERABLE, GHES_SEV_PANIC = 0, 1, 2, 3
ESTATUS_MAX_SIZE = 65536
GHES_PANIC_TIMEOUT = 30       # s: what older kernels set panic_timeout to when it was 0
# RAM when the user gives none: an 8 GiB machine (x86: 3 GiB below the PCI hole, the rest from 4 GiB;
# arm64: QEMU virt's RAM from 1 GiB)
DEFAULT_RAM = {"x86_64": [(0, 0xC0000000), (0x100000000, 0x240000000)], "arm64": [(0x40000000, 0x240000000)]}
PREALLOC_MAX = 65536
CACHE_AVG_SIZE, CACHES_SIZE, CACHE_ALLOCED_MAX = 512, 4, 6
CACHE_MAX_NS = 10_000_000_000
NODE_HDR, CACHE_HDR, VENDOR_HDR, TASK_WORK = 24, 40, 40, 32
MF_FIFO = 16
MF_SOFT_OFFLINE, MF_ACTION_REQUIRED = 1 << 3, 1 << 1
HDR = struct.Struct("<IIIII")     # block_status, raw_data_offset, raw_data_length, data_length, error_severity
ZERO_STATUS = bytes(4)             # what clearing block_status writes
POLLED, EXTERNAL, LOCAL, SCI, NMI, CMCI, MCE, GPIO, SEA, SEI, GSIV, SDEI = range(12)
HED = (SCI, GPIO, GSIV)
HED_LIST = -1                      # SCI, GPIO-Signal and GSIV sources share the HED notifier's list
NMI_LIKE = (NMI, SEA, SDEI)
FW_WARN, FW_BUG = "[Firmware Warn]: ", "[Firmware Bug]: "
VICTIM = "victim"   # the interrupted user task, as comm:pid = victim:1000+cpu


_GHES_SEV = (GHES_SEV_RECOVERABLE, GHES_SEV_PANIC, GHES_SEV_CORRECTED, GHES_SEV_NO)


def ghes_severity(cper_sev: int) -> int:
    """ghes_severity(): CPER severity to GHES severity; unknown values are fatal."""
    return _GHES_SEV[cper_sev] if 0 <= cper_sev < 4 else GHES_SEV_PANIC


def estatus_len(hdr) -> int:
    _bs, roff, rlen, dlen, _sev = hdr
    return roff + rlen if rlen else 20 + dlen


def page_align(n: int) -> int:
    return (n + PAGE - 1) // PAGE * PAGE


class Pool:
    """gen_pool with first-fit allocation in 8-byte units (GHES_ESTATUS_POOL_MIN_ALLOC_ORDER 3)."""

    def __init__(self, size: int, chunk: int = 0):
        self.size = 0
        self.chunk_units = chunk // 8     # >0: added in chunks an allocation cannot span
        self.free: List[List[int]] = []   # sorted [start, units]
        self.grow(size)

    def grow(self, size: int) -> None:
        units = size // 8
        step = self.chunk_units or units
        while units > 0:
            n = min(step, units)
            self.free.append([self.size // 8, n])
            self.size += n * 8
            units -= n

    def _joins(self, at: int) -> bool:
        """Free ranges meeting at unit `at` merge unless a chunk boundary lies there."""
        return not self.chunk_units or at % self.chunk_units != 0

    def alloc(self, nbytes: int) -> Optional[int]:
        need = (nbytes + 7) // 8
        for i, (start, units) in enumerate(self.free):
            if units >= need:
                if units == need:
                    self.free.pop(i)
                else:
                    self.free[i] = [start + need, units - need]
                return start
        return None

    def release(self, start: int, nbytes: int) -> None:
        units = (nbytes + 7) // 8
        free = self.free
        i = 0
        while i < len(free) and free[i][0] < start:
            i += 1
        free.insert(i, [start, units])
        if i + 1 < len(free) and free[i][0] + free[i][1] == free[i + 1][0] and self._joins(free[i + 1][0]):
            free[i][1] += free.pop(i + 1)[1]                                    # merge right
        if i > 0 and free[i - 1][0] + free[i - 1][1] == free[i][0] and self._joins(free[i][0]):
            free[i - 1][1] += free.pop(i)[1]                                    # merge left

    @property
    def available(self) -> int:
        return sum(u for _s, u in self.free) * 8


class Ratelimit:
    """___ratelimit: a window of `interval` s from its first call, `burst` prints per window."""

    def __init__(self, interval: float = 5.0, burst: int = 2):
        self.interval, self.burst = interval, burst
        self.begin: Optional[float] = None
        self.printed = self.missed = 0

    def allow(self, now: float, log=None, name: str = "") -> bool:
        if self.begin is None:
            self.begin = now
        if now > self.begin + self.interval:
            if self.missed and log is not None:
                log(f"{name}: {self.missed} callbacks suppressed")
            self.begin, self.printed, self.missed = now, 0, 0
        if self.printed < self.burst:
            self.printed += 1
            return True
        self.missed += 1
        return False


@dataclass
class CacheEntry:
    data: bytes
    count: int
    time_in: int          # ns
    pool_off: int
    size: int


@dataclass
class Node:
    reg: "Registered"
    data: bytes
    pool_off: int
    size: int
    cpu: int
    sync: bool


@dataclass
class Registered:
    fw: FwSource
    notify: int
    poll_ms: int = 0
    vector: int = 0
    next_poll: Optional[float] = None


class Panic(Exception):
    """The run stops here, as the machine would."""


class Kernel:
    def __init__(self, hest: dict, fw: Firmware, mem: PhysMem, rec, version: str = "v5.1",
                 arch: str = "arm64", kernel_version=None, ram=None, panic_timeout: int = 0,
                 sdei_critical=()):
        from ..kernel_versions import kernel_version as _kv
        self.hest, self.fw, self.mem, self.rec = hest, fw, mem, rec
        self.counts = rec.counts          # the summary counters, bumped in place on the hot paths
        self.version, self.arch = version, arch
        # what the printed lines follow (--kernel-version); the v5.0 queue prints as 5.0 did
        self.kv = _kv(kernel_version if kernel_version is not None else "5.0" if version == "v5.0" else None)
        self.new = self.kv.has("estatus_queue")     # the v5.1 structure (see kernel_versions)
        # the machine's RAM as (start, end) byte ranges: what pfn_valid() says yes to
        self.ram = list(ram) if ram is not None else DEFAULT_RAM[arch]
        self.panic_timeout = panic_timeout     # the kernel's panic= (0: stay halted, <0: reboot at once)
        # SDEI event numbers the firmware reports as critical (SDEI_EVENT_INFO_EV_PRIORITY): the HEST
        # does not say, so the user does; sdei_register_ghes picks the critical callback for them
        self.sdei_critical = frozenset(sdei_critical)
        self.sdei_events: Dict[int, int] = {}      # registered event number -> source id
        self.seq = 0
        self.rl_corrected, self.rl_uncorrected = Ratelimit(), Ratelimit()
        self.warn_limits: Dict[str, Ratelimit] = {}
        self.cache: List[Optional[CacheEntry]] = [None] * CACHES_SIZE
        self.cache_alloced = 0
        self.rcu_pending: List[CacheEntry] = []
        self.llist: List[Node] = []
        self.irq_work_pending = False
        self.mf_fifo: Dict[int, deque] = {}
        self.mf_waiting = 0                 # entries in all the fifos: the workers have work
        self.lists: Dict[int, List[Registered]] = {}
        self.sources: Dict[int, Registered] = {}   # by source id
        self.assist_skipped: Dict[int, int] = {}    # GHES_ASSIST helper source id -> its MC source
        self.assist_noted: Dict[int, bool] = {}
        self.instant_sync_cpus: set = set()
        self.nesting: Dict[int, List[str]] = {}
        self.pool = Pool(0)
        self.stopped: Optional[str] = None
        self._probe()

    # -- logging -----------------------------------------------------------------------------------
    def log(self, text: str) -> None:
        self.rec.line(text)

    def warn_ratelimited(self, key: str, text: str) -> None:
        rl = self.warn_limits.setdefault(key, Ratelimit(5.0, 10))
        if rl.allow(self.rec.now):
            self.log(text)

    # -- probe (hest.c + ghes_probe) -----------------------------------------------------------------
    def _probe(self) -> None:
        from ..validate.rules_table import gar_error, gar_message
        hest = self.hest
        sources = hest.get("sources", [])
        count = hest.get("error_source_count", len(sources))
        if count > len(sources):
            self.log(f"{FW_BUG}HEST: Table contents overflow for hardware error source: "
                     f"{sources[-1]['source_id'] if sources else 0}.")
            self.log("HEST: Table parsing failed: no GHES registered")
            return
        view = linux_view(hest)          # zero gaps: Linux walks them as IA-32 MCE structures
        if view.failure:
            self.log(view.failure)
            self.log("HEST: Table parsing failed: no GHES registered")
            return
        entries = list(hest_walk(view.sources, len(view.sources), self._type))
        walked = [(view.index[k], s) for k, t, s, skipped in entries
                  if t in GHES_TYPES and not skipped and view.index[k] is not None]
        # GHES_ASSIST helpers: apei_hest_parse skips them ("GHES_ASSIST is not supported"), nothing reads them
        self.assist_skipped = {s["source_id"]: s.get("related_source_id") for _k, t, s, skipped in entries
                               if skipped}
        seen = set()
        for i, s in walked:
            if s.get("enabled", 1) and s["source_id"] in seen:
                self.log(f"{FW_WARN}HEST: Duplicated hardware error source ID: {s['source_id']}.")
                self.log("HEST: Table parsing failed: no GHES registered")
                return
            if s.get("enabled", 1):
                seen.add(s["source_id"])
        # acpi_hest_init (an earlier initcall) ends with this line; ghes_probe runs later, per device
        self.log("HEST: Table parsing has been initialized.")
        fw_by_index = {f.index: f for f in self.fw.sources}
        for i, s in walked:
            fw = fw_by_index[i]
            if not s.get("enabled", 1):
                continue
            sid, notify = s["source_id"], fw.notify
            reason = self._unsupported(notify)
            if reason:
                self.log(reason.replace("%d", str(sid)))
                continue
            if fw.block_length < 20:
                self.log(f"{FW_BUG}GHES: Invalid error block length: {fw.block_length} for generic hardware "
                         f"error source: {sid}")
                continue
            bad = None
            # ghes_new maps the status address, then (GHESv2) the read-ack register, and fails at the
            # first register apei_check_gar refuses: checked at the HEST's own address (a register
            # at 0 is refused even though the firmware side had to put it somewhere)
            for gas in (fw.status_gas, fw.ack_gas):
                if gas is not None:
                    err = gar_error(gas)
                    if err:
                        bad = gar_message(gas, err[2])
                        break
            if bad:
                self.log(bad)
                continue
            if fw.block_length > ESTATUS_MAX_SIZE:
                self.log(f"{FW_WARN}GHES: Error status block length is too long: {fw.block_length} for "
                         f"generic hardware error source: {sid}.")
            reg = Registered(fw, notify, s["notify"]["poll_interval"], s["notify"]["vector"])
            if notify == POLLED:
                if reg.poll_ms == 0:
                    self.log(f"{FW_WARN}GHES: Poll interval is 0 for generic hardware error source: {sid}, "
                             f"disabled.")
                    continue
                reg.next_poll = reg.poll_ms / 1000.0
            if notify == SDEI and not self._sdei_register(reg):
                continue
            self.sources.setdefault(sid, reg)
            self.lists.setdefault(HED_LIST if notify in HED else notify, []).insert(0, reg)  # RCU: newest first
        self._init_pool(walked)
        for reg in list(self.sources.values()):
            self.ghes_proc(reg, cpu=0)          # "handle any pending errors right away"

    def _sdei_register(self, reg: "Registered") -> bool:
        """sdei_register_ghes: event 0 is SDEI_EVENT_SIGNAL (-EINVAL, nothing printed); an event
        another source registered already is refused by sdei_event_register (-EBUSY). Either way
        ghes_probe fails and the source is never read."""
        sid, event = reg.fw.sid, reg.vector
        if event == 0:
            self.rec.violation("FW.SDEI_EVENT_ZERO", f"source {sid} names SDEI event 0, which the SDEI spec "
                               f"reserves for SDEI_EVENT_SIGNAL: sdei_register_ghes returns -EINVAL and the "
                               f"GHES is not registered", sid)
            return False
        first = self.sdei_events.get(event)
        if first is not None:
            self.log(f"sdei: Event {event} already registered")
            self.rec.violation("FW.SDEI_DUPLICATE_EVENT", f"source {sid} names SDEI event {event}, already "
                               f"registered by source {first}: sdei_event_register returns -EBUSY and the "
                               f"GHES is not registered", sid)
            return False
        self.sdei_events[event] = sid
        return True

    def sdei_class(self, sources: List["Registered"]) -> str:
        """The NMI-like context an SDEI event runs in: its priority's callback, lock and fixmap."""
        critical = any(r.vector in self.sdei_critical for r in sources)
        return "sdei_critical" if critical else "sdei_normal"

    def _type(self, s) -> int:
        from ..validate.engine import enum_int
        return enum_int("hest_type", s.get("type"))

    def _unsupported(self, notify: int) -> Optional[str]:
        """ghes_probe's message for a notification this kernel refuses ("%d" is the source id)."""
        reason = notify_unsupported(notify, self.arch, sdei=self.new)
        if reason is None:
            return None
        if reason.startswith("notified"):
            return "GHES: Generic hardware error source: %d " + reason
        return f"{FW_WARN}GHES: Unknown notification type: {notify} for generic hardware error source: %d"

    def _init_pool(self, walked) -> None:
        if self.new:   # ghes_estatus_pool_init(num_ghes): every type-9/10 entry, enabled or not
            self.pool = Pool(page_align(CACHE_AVG_SIZE * CACHE_ALLOCED_MAX + len(walked) * PREALLOC_MAX))
            return
        size = page_align(CACHE_AVG_SIZE * CACHE_ALLOCED_MAX)
        for reg in self.lists.get(NMI, []):       # v5.0: grows per NMI source
            s = self.hest["sources"][reg.fw.index]
            prealloc = min(min(reg.fw.block_length, ESTATUS_MAX_SIZE) * max(s.get("records_to_preallocate", 1), 1),
                           PREALLOC_MAX)
            size += page_align(prealloc)
        # ghes_estatus_pool_expand (v4.19/v5.0) gen_pool_add()ed the pool page by page: an allocation
        # cannot span two pages, so a record of more than a page (less the node header) never fits
        self.pool = Pool(size, chunk=PAGE)

    # -- reading, checking, clearing ------------------------------------------------------------------
    def _peek(self, reg: Registered):
        fw = reg.fw
        paddr = self.mem.read_int(fw.status_reg, fw.status_size)
        if not paddr:
            return -2, None, 0
        hdr = HDR.unpack(self.mem.read(paddr, 20))
        if hdr[0] == 0:
            return -2, hdr, 0
        return 0, hdr, paddr

    def _check_header(self, reg: Registered, hdr) -> int:
        n = estatus_len(hdr)
        # ghes_new cut error_block_length to GHES_ESTATUS_MAX_SIZE: that is the buffer checked against
        limit = min(reg.fw.block_length, ESTATUS_MAX_SIZE)
        _bs, roff, rlen, dlen, _sev = hdr
        why = ("trunc", "Truncated error status block!") if n < 20 else \
            ("len", "Invalid error status block length!") if n > limit else \
            ("hdr", "Invalid CPER header!") if dlen and dlen < 64 or rlen and roff < 20 + dlen else None
        if why is None:
            return 0
        if not self.new:   # v5.0's ghes_read_estatus had one message for every failed check
            why = ("read", "Failed to read error status block!")
        self.warn_ratelimited(why[0], f"{FW_WARN}GHES: {why[1]}")
        return -5

    def _read(self, paddr: int, n: int) -> Optional[bytes]:
        data = self.mem.read(paddr, n)
        if not estatus_ok(data):
            self.warn_ratelimited("read", f"{FW_WARN}GHES: Failed to read error status block!")
            return None
        return data

    def _clear(self, reg: Registered, paddr: int, ack: bool = True) -> None:
        if not paddr:
            return
        self.mem.write(paddr, ZERO_STATUS)
        fw = reg.fw
        if fw.type == 10 and ack:
            size, off = fw.ack_size, fw.ack_off
            val = self.mem.read_int(fw.ack_reg, size)
            val = val & (fw.preserve << off) | (fw.write << off)
            self.mem.write_int(fw.ack_reg, size, val)
            self.counts["acked"] += 1

    # -- the IRQ path: ghes_proc --------------------------------------------------------------------------
    def ghes_proc(self, reg: Registered, cpu: int, sync: bool = False) -> int:
        rc, hdr, paddr = self._peek(reg)
        data = None
        if rc == 0:
            rc = self._check_header(reg, hdr)
            if rc == 0:
                data = self._read(paddr, estatus_len(hdr))
                rc = 0 if data is not None else -5
        if rc == 0:
            self.counts["records_read"] += 1
            if ghes_severity(hdr[4]) == GHES_SEV_PANIC:
                self._panic(reg, data, paddr)
            if self._cached(data):
                self.counts["throttled"] += 1
            elif self._print(reg, data):
                self._cache_add(data)
            self.do_proc(reg, data, cpu, sync)
        self._clear(reg, paddr)
        return rc

    # -- the NMI-like path (v5.1+) ---------------------------------------------------------------------------
    def queue_one_entry(self, reg: Registered, cpu: int, sync: bool) -> int:
        rc, hdr, paddr = self._peek(reg)
        if rc:
            self._clear(reg, paddr)
            return rc
        rc = self._check_header(reg, hdr)
        if rc:
            self._clear(reg, paddr)
            return rc
        n = estatus_len(hdr)
        off = self.pool.alloc(NODE_HDR + n)
        if off is None:   # the record stays pending: neither cleared nor acked
            self.counts["dropped_pool"] += 1
            self.rec.event(f"source {reg.fw.sid}: estatus pool exhausted ({self.pool.available} bytes free): "
                           f"record left pending")
            return -12
        data = self._read(paddr, n)
        if data is None:
            self._clear(reg, paddr)
            self.pool.release(off, NODE_HDR + n)
            return -2
        self.counts["records_read"] += 1
        if ghes_severity(hdr[4]) == GHES_SEV_PANIC:
            for node in self._take_list():
                self._print(node.reg, node.data)
            self._panic(reg, data, paddr)
        self._clear(reg, paddr)
        if self._cached(data):
            self.counts["throttled"] += 1
            self.pool.release(off, NODE_HDR + n)
            return 0
        self.llist.append(Node(reg, data, off, NODE_HDR + n, cpu, sync))
        self.counts["queued"] += 1
        return 0

    def spool(self, regs: List[Registered], cpu: int, sync: bool) -> int:
        result = -2
        for reg in regs:
            if self.queue_one_entry(reg, cpu, sync) == 0:
                result = 0
        if result == 0:
            self.irq_work_pending = True
        return result

    def _take_list(self) -> List[Node]:
        nodes, self.llist = self.llist, []
        return nodes      # appended in arrival order: the kernel's LIFO list reversed

    def run_irq_work(self) -> None:
        """ghes_proc_in_irq: actions first, then the cache lookup and print, in arrival order."""
        self.irq_work_pending = False
        for node in self._take_list():
            self.do_proc(node.reg, node.data, node.cpu, node.sync)
            if self._cached(node.data):
                self.counts["throttled"] += 1
            elif self._print(node.reg, node.data):
                self._cache_add(node.data)
            self.pool.release(node.pool_off, node.size)

    # -- the NMI path before v5.1 ----------------------------------------------------------------------------
    def old_nmi(self, regs: List[Registered], cpu: int) -> int:
        result = -2
        for reg in regs:
            rc, hdr, paddr = self._peek(reg)
            data = None
            if rc == 0 and 20 <= estatus_len(hdr) <= min(reg.fw.block_length, ESTATUS_MAX_SIZE):
                data = self.mem.read(paddr, estatus_len(hdr))
                if not estatus_ok(data):
                    data = None
            if data is None:
                self._clear(reg, paddr, ack=False)
                continue
            result = 0
            self.counts["records_read"] += 1
            if ghes_severity(hdr[4]) == GHES_SEV_PANIC:
                for node in self._take_list():
                    self._print(node.reg, node.data)
                self._panic(reg, data, paddr)
            if self._cached(data):
                self.counts["throttled"] += 1
            else:
                off = self.pool.alloc(NODE_HDR + len(data))
                if off is None:   # __process_error fails silently: nothing printed, block cleared, no ack
                    self.counts["dropped_pool"] += 1
                    why = (f"{NODE_HDR + len(data)} bytes do not fit one of the pool's pages"
                           if NODE_HDR + len(data) > PAGE else "estatus pool exhausted")
                    self.rec.event(f"source {reg.fw.sid}: {why}: record dropped")
                else:
                    self.llist.append(Node(reg, data, off, NODE_HDR + len(data), cpu, False))
                    self.counts["queued"] += 1
            self._clear(reg, paddr, ack=False)   # v5.0's NMI path never acked GHESv2
        if result == 0:
            self.irq_work_pending = True
        return result

    # -- printing and the estatus cache ----------------------------------------------------------------------
    def _print(self, reg: Registered, data: bytes) -> bool:
        corrected = ghes_severity(HDR.unpack_from(data)[4]) <= GHES_SEV_CORRECTED
        rl = self.rl_corrected if corrected else self.rl_uncorrected
        if not rl.allow(self.rec.now, self.log, "ghes_print_estatus"):
            self.counts["ratelimited"] += 1
            return False
        self._print_lines(reg, data)
        return True

    def _print_lines(self, reg: Registered, data: bytes) -> None:
        from ..render.kernel import render_block
        self.seq += 1
        self.counts["printed"] += 1
        try:
            lines = render_block(plan(data).block, reg.fw.sid, self.seq, self.arch, self.kv, data)
        except Exception as e:  # checked by cper_estatus_check, so only odd bodies get here
            lines = [f"{{{self.seq}}}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: "
                     f"{reg.fw.sid}", f"{{{self.seq}}}[Hardware Error]: (body not decoded: {e})"]
        for line in lines:
            self.log(line)

    def _cached(self, data: bytes) -> bool:
        """ghes_estatus_cached: `data` is exactly the block's estatus length, so a length-and-bytes
        match is the kernel's len + memcmp."""
        for entry in self.cache:
            if entry is not None and entry.data == data:
                entry.count += 1
                return int(self.rec.now * 1e9) - entry.time_in < CACHE_MAX_NS
        return False

    def _cache_add(self, data: bytes) -> None:
        n = estatus_len(HDR.unpack_from(data))
        self.cache_alloced += 1
        if self.cache_alloced > CACHE_ALLOCED_MAX:
            self.cache_alloced -= 1
            return
        off = self.pool.alloc(CACHE_HDR + n)
        if off is None:
            self.cache_alloced -= 1
            return
        now = int(self.rec.now * 1e9)
        new = CacheEntry(bytes(data[:n]), 0, now, off, CACHE_HDR + n)
        slot, max_period = -1, 0
        for i, entry in enumerate(self.cache):
            if entry is None:
                slot = i
                break
            duration = now - entry.time_in
            if duration >= CACHE_MAX_NS:
                slot = i
                break
            period = duration // (entry.count + 1)
            if period > max_period:
                max_period, slot = period, i
        if slot < 0:
            if not self.kv.has("cache_xchg"):   # the cmpxchg version freed the new entry at once
                self.pool.release(off, CACHE_HDR + n)
                self.cache_alloced -= 1
                return
            # every period 0: the entry is neither stored nor freed (the kernel leaks it)
            self.rec.event("estatus cache: no slot to replace (all periods 0): entry leaked")
            return
        old = self.cache[slot]
        self.cache[slot] = new
        if old is not None:
            self.rcu_pending.append(old)

    def end_of_notification(self) -> None:
        """The RCU grace period: replaced cache entries give back their pool bytes."""
        for entry in self.rcu_pending:
            self.pool.release(entry.pool_off, entry.size)
            self.cache_alloced -= 1
        self.rcu_pending = []

    # -- actions: ghes_do_proc ----------------------------------------------------------------------------------
    def do_proc(self, reg: Registered, data: bytes, cpu: int, sync: bool) -> None:
        self.counts["processed"] += 1
        sev = ghes_severity(HDR.unpack_from(data)[4])
        queued = False
        p = plan(data)
        fru = [b"\0" * 16, ""]        # ghes_do_proc keeps the last valid FRU id/text for later sections
        for sec, entry in zip(p.sections, p.block["entries"]):
            key, body, flags = sec.key, sec.body, sec.flags
            sec_sev = ghes_severity(sec.severity)
            if self.rec.tracer is not None:
                self._fru(entry, fru)
            if key == "platform_memory":
                self.rec.trace("mc_event", severity=_GHES_SEV_NAMES.get(sev, "informational"), body=body,
                               location=_mem_location(body))
                queued = self._memory_error(reg, body, sev, sec_sev, flags, cpu, sync)
            elif key == "pcie":
                self._aer(reg, body, sec.severity, flags)
            elif key == "arm":
                self._log_arm_hw_error(body, sec.payload)
                self.rec.trace("arm_event", body=body, payload=sec.payload, ghes_severity=sec_sev)
                queued = self._arm(reg, body, sev, sec_sev, cpu, sync)
            elif key in _CXL_HANDOFF and self.kv.has(_CXL_HANDOFF[key]):
                self.rec.action("cxl", source=reg.fw.sid, section=key)
            else:
                if self.rec.tracer is not None:
                    self.rec.trace("non_standard_event", **_non_standard(entry, sec, fru))
                size = VENDOR_HDR + 72 + sec.data_length
                off = self.pool.alloc(size)
                if off is None:
                    self.rec.event(f"source {reg.fw.sid}: vendor record dropped (pool exhausted)")
                else:
                    self.rec.action("vendor_notifier", source=reg.fw.sid, section=str(key), severity=sev)
                    self.pool.release(off, size)
        if sync and not queued and self.kv.has("sync_sigbus"):
            self.log(f"GHES GHES.{reg.fw.sid}: [Hardware Error]: GHES: {VICTIM}:{1000 + cpu}: synchronous "
                     f"unrecoverable error (SIGBUS)")
            self.rec.action("signal", source=reg.fw.sid, signal="SIGBUS", reason="synchronous error not handled",
                            cpu=cpu)

    @staticmethod
    def _fru(entry: dict, fru: list) -> None:
        from ..schemas.cper_fields import guid_bytes
        vb = entry.get("validation_bits") or {}
        if isinstance(vb, dict) and vb.get("fru_id"):
            fru[0] = guid_bytes(entry.get("fru_id"))
        if isinstance(vb, dict) and vb.get("fru_text"):
            fru[1] = entry.get("fru_text") or ""

    def _memory_error(self, reg, body, sev, sec_sev, flags, cpu, sync) -> bool:
        vb = body.get("validation_bits", 0)
        vb = vb if isinstance(vb, int) else 0
        if not vb & 0x2:
            return False
        mf = None
        if sec_sev == GHES_SEV_CORRECTED and flags.get("error_threshold_exceeded"):
            mf = MF_SOFT_OFFLINE
        if sev == GHES_SEV_RECOVERABLE and sec_sev == GHES_SEV_RECOVERABLE:
            mf = MF_ACTION_REQUIRED if sync and self.kv.has("sync_task_work") else 0
        if mf is None:
            return False
        return self._do_memory_failure(reg, body["physical_address"], mf, cpu, sync)

    def _do_memory_failure(self, reg, pa: int, mf: int, cpu: int, sync: bool = False) -> bool:
        pfn = pa >> 12
        if not self.kv.has("mf_any_pfn") and not any(lo >> 12 <= pfn < hi >> 12 for lo, hi in self.ram):
            self.warn_ratelimited("pfn", f"{FW_WARN}GHES: Invalid address in generic error data: {pa:#x}")
            return False
        if mf == MF_ACTION_REQUIRED:
            off = self.pool.alloc(TASK_WORK)
            if off is None:
                return False
            self.counts["memory_failure_queued"] += 1
            self.rec.action("memory_failure", source=reg.fw.sid, pfn=pfn, flags="MF_ACTION_REQUIRED", cpu=cpu,
                            via="task_work", signal="BUS_MCEERR_AR")
            self.log(f"Memory failure: {pfn:#x}: Sending SIGBUS to {VICTIM}:{1000 + cpu} due to hardware memory "
                     f"corruption")
            self.pool.release(off, TASK_WORK)
            return True
        fifo = self.mf_fifo.setdefault(cpu, deque())
        if len(fifo) >= MF_FIFO:
            self.counts["memory_failure_overflow"] += 1
            self.log(f"Memory failure: buffer overflow when queuing memory failure at {pfn:#x}")
        else:
            # v5.8-v6.8: a synchronous error's queue is drained by a task_work before the return to user
            kick = sync and self.kv.has("mf_kick") and not self.kv.has("sync_task_work")
            fifo.append((reg.fw.sid, pfn, mf, kick))
            self.mf_waiting += 1
            self.counts["memory_failure_queued"] += 1
        return True

    def drain_memory_failure(self) -> None:
        """The memory_failure workers: soft offline, or memory_failure() whose early kill is AO."""
        self.mf_waiting = 0
        for cpu, fifo in self.mf_fifo.items():
            while fifo:
                sid, pfn, mf, kick = fifo.popleft()
                if mf == MF_SOFT_OFFLINE:
                    self.rec.action("soft_offline", source=sid, pfn=pfn, cpu=cpu)
                else:
                    self.rec.action("memory_failure", source=sid, pfn=pfn, flags="0", cpu=cpu,
                                    via="queue kicked before return to user" if kick else "queue",
                                    signal="BUS_MCEERR_AO")

    def _aer(self, reg, body, severity: int, flags) -> None:
        vb = body.get("validation_bits", 0)
        if not isinstance(vb, int) or vb & 0x88 != 0x88:
            return
        dev = body["device_id"]
        aer_sev = {0: "AER_NONFATAL", 1: "AER_FATAL"}.get(severity, "AER_CORRECTABLE")
        if flags.get("reset"):
            aer_sev = "AER_FATAL"
        self.rec.action("aer_recover", source=reg.fw.sid, segment=dev["segment"], bus=dev["primary_bus"],
                        devfn=dev["device"] << 3 | dev["function"], severity=aer_sev)
        if self.rec.tracer is not None:
            regs = bytes.fromhex(body["aer_info"]) if isinstance(body.get("aer_info"), str) else bytes(96)
            word = lambda at: int.from_bytes(regs[at:at + 4], "little")     # noqa: E731
            status = word(0x10) & ~word(0x14) if aer_sev == "AER_CORRECTABLE" else word(0x04) & ~word(0x08)
            tlp = None
            if aer_sev != "AER_CORRECTABLE" and word(0x04) & AER_LOG_TLP_MASKS and self.kv.has("aer_trace_tlp_header"):
                tlp = [word(0x1C + 4 * i) for i in range(14)]
            from ..render.kernel import pci_name
            self.rec.trace("aer_event", dev_name=pci_name(dev["segment"], dev["primary_bus"], dev["device"],
                                                          dev["function"]),
                           severity=aer_sev, status=status, tlp=tlp)

    def _log_arm_hw_error(self, body: dict, payload: bytes) -> None:
        """log_arm_hw_error since it traces the whole section: vendor bytes are what the section
        length leaves after the error infos and the contexts (walked by their sizes); less than
        nothing is a firmware bug, said in three lines."""
        if not self.kv.has("arm_event_info"):
            return
        from ..render.kernel import s32
        from .trace import arm_lengths
        _pei, _ctx, vsei = arm_lengths(body, payload)
        if vsei < 0:
            length = body.get("section_length", 0)
            self.log(f"[Firmware Bug]: section length: {s32(length)}")
            self.log("[Firmware Bug]: section length is too small")
            self.log("[Firmware Bug]: firmware-generated error record is incorrect")

    def _arm(self, reg, body, sev, sec_sev, cpu, sync) -> bool:
        if not self.new:
            self.rec.action("arm_trace", source=reg.fw.sid)
            return False
        self.rec.action("arm_trace", source=reg.fw.sid)
        if sev != GHES_SEV_RECOVERABLE or sec_sev != GHES_SEV_RECOVERABLE:
            return False
        queued = False
        mf = MF_ACTION_REQUIRED if sync and self.kv.has("sync_task_work") else 0
        names = ["cache error", "TLB error", "bus error", "micro-architectural error"]
        # "align ARM CPER type with UEFI 2.9A/2.10 specs": the type is a bit mask (bit 1 cache) there
        bitmask = self.kv.has("arm_type_bitmask")
        for info in body.get("error_info", []):
            vb = info.get("validation_bits", 0)
            vb = vb if isinstance(vb, int) else 0
            t = info.get("type", 0)
            if (t & 2 if bitmask else t == 0) and vb & 0x10:
                queued = self._do_memory_failure(reg, info["physical_fault_address"], mf, cpu, sync)
            elif bitmask:
                kinds = "|".join(n for k, n in enumerate(names) if t >> (k + 1) & 1)
                self.warn_ratelimited("arm", f"{FW_WARN}GHES: Unhandled processor error type 0x{t:02x}: {kinds}"
                                             f"{' with reserved bit(s)' if t & ~0x1E else ''}")
            else:
                self.warn_ratelimited("arm", f"{FW_WARN}GHES: Unhandled processor error type: "
                                             f"{names[t] if 0 <= t < len(names) else 'unknown error'}")
        return queued

    # -- fatal --------------------------------------------------------------------------------------------------
    def _panic(self, reg: Registered, data: bytes, paddr: int) -> None:
        self._print_lines(reg, data)          # KERN_EMERG: no ratelimit, no cache
        # v5.1+: __ghes_panic -> ghes_clear_estatus, which acks a GHESv2; v5.0's ghes_clear_estatus only
        # cleared block_status (the ack sat after ghes_proc's "out:", never reached by the panic)
        self._clear(reg, paddr, ack=self.new)
        self.counts["panics"] += 1
        timeout = self.panic_timeout
        if self.kv.has("ghes_panic_message"):
            msg = "GHES: Fatal hardware error"
            if timeout == 0:
                self.log("GHES: Fatal hardware error but panic disabled")
        else:
            msg = "Fatal hardware error!"
            if timeout == 0:     # "reboot to log the error!": ghes_panic_timeout
                timeout = GHES_PANIC_TIMEOUT
        self.log(f"Kernel panic - not syncing: {msg}")
        self.rec.action("panic", source=reg.fw.sid, message=msg,
                        then="halt" if timeout == 0 else "reboot now" if timeout < 0 else f"reboot after {timeout} s")
        self.stopped = f"panic: {msg} (source {reg.fw.sid})"
        raise Panic(msg)

    # -- notifications ---------------------------------------------------------------------------------------------
    def covered(self, notify: int, source: Optional[int]) -> List[Registered]:
        if notify in (EXTERNAL, SDEI, POLLED) and source is not None:
            reg = self.sources.get(source)
            return [reg] if reg is not None and reg.notify == notify else []
        if notify == SDEI:   # each source registered its own event: an event reaches only its source
            return []
        if notify == POLLED:
            return list(self.lists.get(POLLED, []))
        if notify in HED:   # one HED notification runs every source on the HED list
            return list(self.lists.get(HED_LIST, []))
        return list(self.lists.get(notify, []))

    def notify(self, notify: int, cpu: int, source: Optional[int], nested: bool, regs=None,
               context: str = "user") -> None:
        """A notification on `cpu`; `regs` are the sources it covers when the caller knows them.
        `context` is what a SEA interrupted: a user task, kernel code, or a KVM guest."""
        if notify == SEA and context == "kernel" and self.kv.has("sea_claim_user_only"):
            self._sea_not_claimed(cpu)           # do_sea tries apei_claim_sea only for user-mode aborts
        if regs is None:
            regs = self.covered(notify, source)
        if not regs:
            if notify == NMI and self.arch == "x86_64":
                self.unknown_nmi(cpu)
            elif notify == SEA and context == "guest":
                self.rec.action("inject_guest_abort", cpu=cpu, reason="apei_claim_sea(NULL) claimed nothing: "
                                                                     "KVM injects an abort into the guest")
            return
        if notify == SEA:
            if self.new:
                claimed = self.spool(regs, cpu, sync=True) == 0
                if self.irq_work_pending and not nested:
                    self.run_irq_work()      # apei_claim_sea: back to an IRQs-enabled context
                elif self.irq_work_pending:
                    self.warn_ratelimited("claim", "APEI work queued but not completed")
                    claimed = False          # -EINPROGRESS: do_sea treats it as not claimed
            else:
                claimed = True
                for reg in regs:
                    self.ghes_proc(reg, cpu)
            if not self.kv.has("sea_claim_user_only"):
                # before v5.8 do_sea ignored the claim: the fault table's signal (user) or die (kernel)
                if context == "kernel":
                    self._sea_not_claimed(cpu)
                elif context == "user":
                    self.rec.action("signal", cpu=cpu, signal="SIGBUS",
                                    reason="do_sea sent the fault table's signal whatever APEI claimed")
            elif not claimed and context == "guest":
                self.rec.action("inject_guest_abort", cpu=cpu, reason="apei_claim_sea(NULL) did not claim it")
        elif notify == NMI:
            claimed = self.spool(regs, cpu, sync=False) if self.new else self.old_nmi(regs, cpu)
            if claimed != 0:
                self.unknown_nmi(cpu)
        elif notify == SDEI:
            for reg in regs:
                if self.queue_one_entry(reg, cpu, sync=False) == 0:
                    self.irq_work_pending = True
        else:
            for reg in regs:
                self.ghes_proc(reg, cpu)

    def _sea_not_claimed(self, cpu: int) -> None:
        """A SEA in kernel context: arm64_notify_die -> die(); the machine does not go on."""
        self.counts["panics"] += 1
        why = "synchronous external abort taken in kernel context: not claimed by APEI (arm64_notify_die)"
        self.rec.action("die", cpu=cpu, reason=why)
        self.stopped = f"die: {why}"
        raise Panic(why)

    def unknown_nmi(self, cpu: int) -> None:
        """ghes_notify_nmi found nothing and returned NMI_DONE; no other handler claims QEMU's
        injected NMI, so arch/x86/kernel/nmi.c unknown_nmi_error() prints its two lines (each
        pr_emerg_ratelimited). The reason is port 0x61, which reads 0x21 on QEMU's pc machine."""
        self.warn_ratelimited("unknown_nmi", f"Uhhuh. NMI received for unknown reason 21 on CPU {cpu}.")
        self.warn_ratelimited("dazed", "Dazed and confused, but trying to continue")

    def end_instant(self) -> None:
        if self.irq_work_pending or self.llist:
            self.run_irq_work()
        if self.mf_waiting:
            self.drain_memory_failure()
        if self.rcu_pending:
            self.end_of_notification()
        if self.instant_sync_cpus:
            self.instant_sync_cpus = set()
        if self.nesting:
            self.nesting = {}



# the uncorrected AER status bits whose TLP header is logged: poisoned TLP, completer abort, unexpected
# completion, malformed TLP, ECRC, unsupported request, ACS violation, MC blocked, AtomicOp egress
# blocked, TLP prefix blocked
AER_LOG_TLP_MASKS = sum(1 << b for b in (12, 15, 16, 18, 19, 20, 21, 23, 24, 25))
# the CXL sections ghes_do_proc hands to the CXL driver, from the release that does
_CXL_HANDOFF = {"cxl_general_media": "cxl_cper_length_check", "cxl_dram": "cxl_cper_length_check",
                "cxl_memory_module": "cxl_cper_length_check", "cxl_protocol": "cxl_protocol_handoff"}
_GHES_SEV_NAMES = {GHES_SEV_CORRECTED: "corrected", GHES_SEV_RECOVERABLE: "recoverable", GHES_SEV_PANIC: "fatal"}
# cper_mem_err_location's fields (memory section validation bit, name), in its order
_MEM_LOCATION = [(0x8, "node"), (0x10, "card"), (0x20, "module"), (0x8000, "rank_number"), (0x40, "bank"),
                 (0x80, "device"), (0x100, "row"), (0x200, "column"), (0x400, "bit_position")]


def _mem_location(body: dict) -> str:
    vb = body.get("validation_bits", 0)
    vb = vb if isinstance(vb, int) else 0
    return " ".join(f"{name.replace('_number', '')}:{body[name]}" for bit, name in _MEM_LOCATION
                    if vb & bit and name in body)


def _non_standard(entry: dict, sec, fru: list) -> dict:
    """log_non_standard_event's arguments: the section GUID and FRU id as raw bytes, the payload."""
    from ..guids import SECTION_TYPES
    from ..schemas.cper_fields import guid_bytes
    key = sec.key
    guid = SECTION_TYPES[key][0] if key in SECTION_TYPES else key
    return {"sec_type": guid_bytes(guid), "fru_id": fru[0], "fru_text": fru[1],
            "ghes_severity": ghes_severity(sec.severity), "payload": sec.payload}
