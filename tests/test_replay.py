"""replay: each rule of the estatus queue (reference §14 and the constants it uses), the two kernels,
firmware protocol violations, streams (JSON Lines, packed frames with corruption, bare CPER), CLI."""
from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

import apeitool
from apeitool.cli import main, memory_error_spec
from apeitool.replay import Simulation, replay
from apeitool.replay.kernel import CACHE_MAX_NS, NODE_HDR, Kernel, estatus_len
from apeitool.replay.stream import FILE_MAGIC, FRAME, Event, StreamStats, pack_events, read_packed

SEA, NMI, SCI, GPIO, SDEI, POLLED, SEI = 8, 4, 3, 7, 11, 0, 9


def gas(addr):
    return {"space_id": "SYSTEM_MEMORY", "bit_width": 64, "bit_offset": 0, "access_size": "QWORD", "address": addr}


def ghes(sid, ntype, v2=True, block=4096, notify=None, **kw):
    src = {"type": "GHES_V2" if v2 else "GHES", "source_id": sid, "notify": {"type": ntype, **(notify or {})},
           "error_status_address": gas(0x80000000 + sid * 8), "error_status_block_length": block,
           "max_raw_data_length": block}
    if v2:
        src["read_ack_register"] = gas(0x80001000 + sid * 8)
    src.update(kw)
    return src


def hest(*sources):
    raw = apeitool.build({"sources": list(sources)}, "hest")
    return apeitool.decode_bytes(raw)[0].model


def mem_block(pa, severity="recoverable", flags=None):
    spec = memory_error_spec(pa, severity, True)
    if flags:
        spec["blocks"][0]["entries"][0]["flags"] = flags
    return apeitool.build(spec, "estatus")


def wn(at, source, notify, data, cpu=0, nested=False):
    return Event(at, "write_notify", source, cpu, notify, data, nested, f"e@{at}")


def w(at, source, data):
    return Event(at, "write", source, 0, None, data, False, f"w@{at}")


def n(at, notify, cpu=0, source=None, nested=False):
    return Event(at, "notify", source, cpu, notify, None, nested, f"n@{at}")


def ids(result):
    return [v["id"] for v in result["violations"]]


# -- 14.2 / 10: the estatus pool --------------------------------------------------------------------------------

def test_pool_exhaustion_leaves_the_record_pending_and_unacked():
    h = hest(ghes(0, "SDEI", notify={"vector": 1}))
    pool = 65536 * 1 + 4096                               # PAGE_ALIGN(512 * 6 + 65536 * num_ghes)
    block = mem_block(0x1000)
    node = (NODE_HDR + len(block) + 7) // 8 * 8
    fits = pool // node
    events = [wn(0.0, 0, SDEI, mem_block(0x1000 * (i + 1))) for i in range(fits + 2)]
    r = replay(h, events, arch="arm64")
    s = r["summary"]
    assert s["queued"] == fits and s["dropped_pool"] == 2
    # the first refused record stays pending: the next write lands on an unacknowledged block
    assert ids(r).count("FW.OVERWRITE_UNACKED") == 1
    assert s["acked"] == fits


def test_pool_size_per_kernel():
    h = hest(ghes(0, "NMI", v2=False, block=0x2000, records_to_preallocate=3), ghes(1, "SCI", v2=False))
    new = Simulation(h, "v5.1", "x86_64").kernel.pool.size
    old = Simulation(h, "v5.0", "x86_64").kernel.pool.size
    assert new == 2 * 65536 + 4096                        # every GHES counts
    assert old == 4096 + 3 * 0x2000                       # only the NMI source, min(len * records, 64 KiB)


# -- 12: the estatus cache ---------------------------------------------------------------------------------------

def test_cache_hit_within_10s_and_miss_after():
    h = hest(ghes(0, "SCI"))
    block = mem_block(0x5000)
    r = replay(h, [wn(0.0, 0, SCI, block), wn(1.0, 0, SCI, block), wn(12.0, 0, SCI, block)])
    assert r["summary"]["throttled"] == 1 and r["summary"]["printed"] == 2
    assert r["summary"]["memory_failure_queued"] == 3      # rule 2: a throttled record still acts (IRQ path)


def test_cache_is_byte_exact_and_ignores_the_source():
    h = hest(ghes(0, "SCI"), ghes(1, "GPIO_SIGNAL"))
    r = replay(h, [wn(0.0, 0, SCI, mem_block(0x5000)), wn(1.0, 1, GPIO, mem_block(0x5000)),
                   wn(2.0, 1, GPIO, mem_block(0x6000))])
    assert r["summary"]["throttled"] == 1                  # same bytes from another source: a hit


def test_queued_path_drops_cached_records_before_acting():
    h = hest(ghes(0, "SDEI", notify={"vector": 1}))
    block = mem_block(0x5000)
    r = replay(h, [wn(0.0, 0, SDEI, block), wn(1.0, 0, SDEI, block)])
    assert r["summary"]["throttled"] == 1 and r["summary"]["processed"] == 1


def _kernel():
    return Simulation(hest(ghes(0, "SCI")), "v5.1", "arm64").kernel


def test_cache_replacement_takes_the_largest_mean_period():
    k = _kernel()
    blocks = [mem_block(0x1000 * (i + 1)) for i in range(5)]
    for i, t in enumerate([0.0, 1.0, 2.0, 3.0]):
        k.rec.now = t
        k._cache_add(blocks[i])
        k.end_of_notification()
    k.rec.now = 4.0
    for _ in range(3):                # slot 0 seen 3 more times: its mean period shrinks to 1 s
        assert k._cached(blocks[0])
    k._cache_add(blocks[4])
    k.end_of_notification()
    # periods at t=4: slot0 4/4=1 s, slot1 3 s, slot2 2 s, slot3 1 s -> slot 1 is replaced
    assert [e.data == blocks[4] for e in k.cache] == [False, True, False, False]


def test_cache_replacement_prefers_an_expired_slot_and_leaks_when_all_periods_are_0():
    k = _kernel()
    blocks = [mem_block(0x1000 * (i + 1)) for i in range(6)]
    for i in range(4):
        k.rec.now = 0.0 if i == 2 else 9.0
        k._cache_add(blocks[i])
    k.rec.now = 10.5                  # slot 2 (in at 0 s) has expired
    k._cache_add(blocks[4])
    assert k.cache[2].data == blocks[4]
    k2 = _kernel()
    for i in range(4):
        k2._cache_add(blocks[i])      # all at t=0: every period is 0
    k2._cache_add(blocks[4])
    assert all(e.data != blocks[4] for e in k2.cache)
    assert any("leaked" in t["what"] for t in k2.rec.timeline.items)
    assert k2.cache_alloced == 5                      # the leaked entry still counts


def test_cache_without_a_slot_before_xchg_frees_the_new_entry():
    """The cmpxchg version of ghes_estatus_cache_add freed a new entry that found no slot;
    "Use xchg_release() ..." leaves it neither stored nor freed."""
    blocks = [mem_block(0x1000 * (i + 1)) for i in range(5)]
    old = Simulation(hest(ghes(0, "SCI")), "v5.1", "arm64", kernel_version="5.15").kernel
    free = old.pool.available
    for i in range(4):
        old._cache_add(blocks[i])
    old._cache_add(blocks[4])
    assert old.cache_alloced == 4 and free - old.pool.available == sum(      # 8-byte pool units
        (e.size + 7) // 8 * 8 for e in old.cache if e is not None)
    assert not any("leaked" in t["what"] for t in old.rec.timeline.items)


def test_cache_alloc_limit_is_6_live_entries():
    k = _kernel()
    for i in range(8):
        k.rec.now = 20.0 * i          # each one expires the last: slots are replaced, RCU frees pend
        k._cache_add(mem_block(0x1000 * (i + 1)))
    assert k.cache_alloced == 6       # the 7th and 8th were refused until the grace period
    k.end_of_notification()           # each add took expired slot 0; the 5 replaced entries go
    assert k.cache_alloced == 1 and k.cache[0].data == mem_block(0x6000) and k.cache[1:] == [None] * 3


def test_cache_expiry_constant():
    assert CACHE_MAX_NS == 10 * 10**9


# -- 11: rate limits ----------------------------------------------------------------------------------------------

def test_ratelimit_two_per_5s_per_class_and_suppressed_message():
    h = hest(ghes(0, "SCI"))
    ev = [wn(0.1 * i, 0, SCI, mem_block(0x1000 * (i + 1))) for i in range(4)]
    ev += [wn(0.5 + 0.1 * i, 0, SCI, mem_block(0x9000 * (i + 1), "corrected")) for i in range(3)]
    ev += [wn(6.0, 0, SCI, mem_block(0xF0000))]
    r = replay(h, ev)
    assert r["summary"]["printed"] == 2 + 2 + 1 and r["summary"]["ratelimited"] == 2 + 1
    assert any(line.endswith("ghes_print_estatus: 2 callbacks suppressed") for line in r["log"])
    seqs = [line.split("{")[1].split("}")[0] for line in r["log"] if "Hardware error from APEI" in line]
    assert seqs == ["1", "2", "3", "4", "5"]             # suppressed prints take no sequence number


# -- 9.4 / 9.5: clearing and read-ack ---------------------------------------------------------------------------------

def test_ack_is_read_modify_write_with_the_masks_and_bit_offset():
    src = ghes(0, "SCI", read_ack_preserve=0xFF000000, read_ack_write=0x5)
    src["read_ack_register"] = {**gas(0x80001000), "bit_offset": 4, "bit_width": 60}
    sim = Simulation(hest(src), "v5.1", "arm64")
    reg = sim.fw.sources[0].ack_reg
    sim.mem.write_int(reg, 8, 0xDEAD0000 | (0x5 << 4))
    sim.handle(wn(0.0, 0, SCI, mem_block(0x1000)))
    assert sim.mem.read_int(reg, 8) == (0xDEAD0000 & (0xFF000000 << 4)) | (0x5 << 4)
    assert sim.mem.read_int(sim.fw.sources[0].block, 4) == 0      # block_status cleared


def test_bad_record_is_cleared_acked_and_dropped():
    h = hest(ghes(0, "SCI"))
    bad = bytearray(mem_block(0x1000))
    bad[12:16] = (70).to_bytes(4, "little")             # data_length cuts the entry short
    r = replay(h, [wn(0.0, 0, SCI, bytes(bad))])
    assert r["summary"]["records_read"] == 0 and r["summary"]["acked"] == 1
    assert "FW.BAD_RECORD" in ids(r) and any("Failed to read error status block!" in x for x in r["log"])


def test_record_longer_than_the_block_is_rejected_by_the_length_check():
    h = hest(ghes(0, "SCI", block=100))
    r = replay(h, [wn(0.0, 0, SCI, mem_block(0x1000))])
    assert "FW.RECORD_TOO_LONG" in ids(r) and any("Invalid error status block length!" in x for x in r["log"])


# -- 14.3 / 14.4: walking, ordering ------------------------------------------------------------------------------------

def test_sea_walks_every_sea_source():
    h = hest(ghes(0, "SEA"), ghes(1, "SEA"), ghes(2, "GPIO_SIGNAL"))
    r = replay(h, [w(0.0, 0, mem_block(0x1000)), w(0.0, 1, mem_block(0x2000)), w(0.0, 2, mem_block(0x3000)),
                   n(0.0, SEA)])
    assert r["summary"]["records_read"] == 2 and "FW.PENDING_AT_END" in ids(r)


def test_queue_is_drained_in_arrival_order():
    h = hest(*[ghes(i, "NMI", v2=False) for i in range(3)])
    ev = [wn(0.0, i, NMI, mem_block(0x1000 * (i + 1), "corrected"), cpu=i) for i in (2, 0, 1)]
    r = replay(h, ev, arch="x86_64")
    pas = [line.rsplit(" ", 1)[1] for line in r["log"] if "physical_address" in line]
    assert pas == ["0x0000000000003000", "0x0000000000001000"]   # first two printed, in arrival order
    assert r["summary"]["queued"] == 3 and r["summary"]["processed"] == 3


def test_nmi_work_waits_for_the_instant_to_end_and_sea_runs_at_once():
    h = hest(ghes(0, "NMI", v2=False))
    sim = Simulation(h, "v5.1", "x86_64")
    sim.handle(wn(0.0, 0, NMI, mem_block(0x1000)))
    assert sim.rec.counts["queued"] == 1 and sim.rec.counts["processed"] == 0
    sim.handle(Event(1.0, "tick"))
    assert sim.rec.counts["processed"] == 1
    sea = Simulation(hest(ghes(0, "SEA")), "v5.1", "arm64")
    sea.handle(wn(0.0, 0, SEA, mem_block(0x1000)))
    assert sea.rec.counts["processed"] == 1


# -- 13 / 16: actions ----------------------------------------------------------------------------------------------

def test_sea_is_action_required_and_irq_paths_action_optional():
    r = replay(hest(ghes(0, "SEA")), [wn(0.0, 0, SEA, mem_block(0x42000))])
    [a] = [a for a in r["actions"] if a["action"] == "memory_failure"]
    assert (a["flags"], a["signal"], a["via"], a["pfn"]) == ("MF_ACTION_REQUIRED", "BUS_MCEERR_AR", "task_work", 0x42)
    r = replay(hest(ghes(0, "SCI")), [wn(0.0, 0, SCI, mem_block(0x42000))])
    [a] = [a for a in r["actions"] if a["action"] == "memory_failure"]
    assert (a["flags"], a["signal"], a["via"]) == ("0", "BUS_MCEERR_AO", "queue")


def test_corrected_with_threshold_is_soft_offline_and_plain_corrected_is_nothing():
    h = hest(ghes(0, "SCI"))
    r = replay(h, [wn(0.0, 0, SCI, mem_block(0x7000, "corrected", {"error_threshold_exceeded": True})),
                   wn(1.0, 0, SCI, mem_block(0x8000, "corrected"))])
    assert [a["action"] for a in r["actions"]] == ["soft_offline"]


def test_memory_failure_fifo_overflows_after_16_per_cpu():
    h = hest(*[ghes(i, "NMI", v2=False, block=256) for i in range(20)])
    ev = [wn(0.0, i, NMI, mem_block(0x1000 * (i + 1)), cpu=0) for i in range(20)]
    r = replay(h, ev, arch="x86_64")
    assert r["summary"]["memory_failure_queued"] == 16 and r["summary"]["memory_failure_overflow"] == 4
    assert sum("buffer overflow when queuing memory failure" in x for x in r["log"]) == 4
    spread = replay(h, [wn(0.0, i, NMI, mem_block(0x1000 * (i + 1)), cpu=i % 2) for i in range(20)], arch="x86_64")
    assert spread["summary"]["memory_failure_overflow"] == 0


def test_sync_error_with_nothing_queued_sends_sigbus():
    r = replay(hest(ghes(0, "SEA")), [wn(0.0, 0, SEA, mem_block(0x1000, "corrected"))])
    assert any("synchronous unrecoverable error (SIGBUS)" in x for x in r["log"])
    assert [a["action"] for a in r["actions"]] == ["signal"]


def test_fatal_panics_and_the_run_stops():
    h = hest(ghes(0, "SCI"))
    r = replay(h, [wn(0.0, 0, SCI, mem_block(0x1000, "fatal")), wn(1.0, 0, SCI, mem_block(0x2000))])
    assert r["summary"]["panics"] == 1 and r["summary"]["notifications"] == 1
    assert r["log"][-1].endswith("Kernel panic - not syncing: GHES: Fatal hardware error")
    assert r["stopped"].startswith("panic")
    old = replay(h, [wn(0.0, 0, SCI, mem_block(0x1000, "fatal"))], kernel="v5.0")
    assert old["log"][-1].endswith("Kernel panic - not syncing: Fatal hardware error!")


def test_queued_fatal_prints_what_is_queued_first():
    h = hest(ghes(0, "NMI", v2=False), ghes(1, "NMI", v2=False))
    r = replay(h, [wn(0.0, 0, NMI, mem_block(0x1000)), wn(0.0, 1, NMI, mem_block(0x2000, "fatal"))], arch="x86_64")
    heads = [x for x in r["log"] if "Hardware error from APEI" in x]
    assert len(heads) == 2 and heads[0].split("Source: ")[1] == "0" and r["summary"]["processed"] == 0


# -- probe ----------------------------------------------------------------------------------------------------------

def test_probe_rules_per_arch_and_kernel():
    h = hest(ghes(0, "SEA"), ghes(1, "NMI", v2=False), ghes(2, "POLLED", notify={"poll_interval": 0}),
             ghes(3, "SDEI", notify={"vector": 5}), ghes(4, "SEI"))
    arm = Simulation(h, "v5.1", "arm64")
    assert sorted(arm.kernel.sources) == [0, 3]
    log = "\n".join(arm.rec.log.items)
    assert "1 notified via NMI interrupt is not supported!" in log and "Poll interval is 0" in log
    assert "Unknown notification type: 9" in log
    assert sorted(Simulation(h, "v5.1", "x86_64").kernel.sources) == [1]
    assert sorted(Simulation(h, "v5.0", "arm64").kernel.sources) == [0]     # no SDEI before v5.1


def test_duplicate_enabled_ghes_ids_disable_everything():
    sim = Simulation(hest(ghes(0, "SCI"), ghes(0, "GPIO_SIGNAL")), "v5.1", "arm64")
    assert sim.kernel.sources == {} and any("Duplicated hardware error source ID: 0" in x
                                            for x in sim.rec.log.items)


def test_polled_source_is_read_on_its_interval():
    h = hest(ghes(0, "POLLED", notify={"poll_interval": 1000}))
    r = replay(h, [w(0.1, 0, mem_block(0x1000)), Event(0.5, "tick"), Event(1.5, "tick")])
    assert r["summary"]["records_read"] == 1
    [read] = [t for t in r["timeline"] if "records_read+1" in t["what"]]
    assert read["at"] == 1.0


def test_far_future_events_do_not_spin_through_polls():
    h = hest(ghes(0, "POLLED", notify={"poll_interval": 1}))
    r = replay(h, [w(0.0, 0, mem_block(0x1000)), Event(1e9, "tick")])
    assert r["summary"]["records_read"] == 1


# -- violations ------------------------------------------------------------------------------------------------------

def test_firmware_violations():
    h = hest(ghes(0, "SEA"), ghes(1, "SEA", v2=False), ghes(2, "GPIO_SIGNAL", block=8192))
    block = mem_block(0x1000)
    r = replay(h, [
        w(0.0, 0, block), w(0.0, 0, mem_block(0x2000)),           # before the OS acknowledged
        w(0.1, 1, block), w(0.1, 1, mem_block(0x3000)),           # GHES v1: block still pending
        n(0.2, SEA), n(0.3, SEA),                                 # second: nothing pending
        n(0.4, SEI),                                              # nobody listens to SEI
        wn(0.5, 0, GPIO, mem_block(0x4000)),                      # routed by the wrong notification
        w(0.6, 9, block),                                         # no such source
        w(0.7, 2, bytes(20)),                                     # block_status 0
        w(0.8, 2, (1).to_bytes(4, "little") + bytes(8) + (4400).to_bytes(4, "little") + bytes(4)
          + b"\x01" * 4400),                                     # bigger than a page, and bad
        wn(0.9, 1, SEA, mem_block(0x5000), cpu=0), wn(0.9, 0, SEA, mem_block(0x6000), cpu=1),
    ], arch="arm64")
    found = set(ids(r))
    assert {"FW.OVERWRITE_UNACKED", "FW.OVERWRITE_PENDING", "FW.SPURIOUS_NOTIFY", "FW.NOTIFY_NO_HANDLER",
            "FW.NOTIFY_TYPE_MISMATCH", "FW.UNKNOWN_SOURCE", "FW.BLOCK_STATUS_ZERO", "FW.RECORD_OVER_PAGE",
            "FW.BAD_RECORD", "FW.SYNC_AMBIGUOUS", "FW.PENDING_AT_END"} <= found


def test_nesting_violations():
    h = hest(ghes(0, "SEA"), ghes(1, "SDEI", notify={"vector": 3}))
    r = replay(h, [wn(0.0, 0, SEA, mem_block(0x1000)), n(0.0, SEA, nested=True),
                   wn(0.0, 1, SDEI, mem_block(0x2000), nested=True), n(0.0, SEA, nested=True),
                   n(0.0, SDEI, source=1, nested=True)])
    assert "FW.NMI_REENTRY" in ids(r) and "FW.NMI_NESTING" in ids(r)


def test_register_at_zero_is_refused_as_linux_refuses_it():
    # ghes_new -> apei_map_generic_address -> apei_check_gar: address 0 is refused with the kernel's
    # numbers and the GHES is not registered; the firmware side still had to put the block somewhere
    src = ghes(0, "SCI")
    src["error_status_address"]["address"] = 0
    r = replay(hest(src, ghes(1, "SCI")), [wn(0.0, 0, SCI, mem_block(0x1000))])
    assert "FW.LAYOUT_RELOCATED" in ids(r) and r["layout"][0]["relocated"]
    assert "[Firmware Bug]: APEI: Invalid physical address in GAR [0x0/64/0/4/0]" in "\n".join(r["log"])
    assert r["summary"]["records_read"] == 0


# -- v5.0 against v5.1 -------------------------------------------------------------------------------------------------

def _differs(h, events, arch, new=None):
    """The same events on v5.1's queue (as `new`, default latest) and on v5.0's."""
    a = replay(h, list(events), "v5.1", arch, kernel_version=new)
    b = replay(h, list(events), "v5.0", arch)
    return a, b


def test_kernels_agree_where_the_kernel_did_not_change():
    h = hest(ghes(0, "SCI"), ghes(1, "POLLED", notify={"poll_interval": 100}))
    events = [wn(0.01 * i, 0, SCI, mem_block(0x1000 * (i % 3 + 1))) for i in range(10)]
    events += [w(0.2, 1, mem_block(0x9000, "corrected")), Event(1.0, "tick")]
    a, b = _differs(h, events, "arm64", new="5.1")
    for key in ("summary", "log", "actions", "violations"):
        assert a[key] == b[key], key


def test_kernels_differ_on_sea_and_nmi():
    sea = hest(ghes(0, "SEA"))
    a, b = _differs(sea, [wn(0.0, 0, SEA, mem_block(0x40001000))], "arm64")
    assert a["summary"]["queued"] == 1 and b["summary"]["queued"] == 0            # SEA queued vs in place
    mf = [[x["signal"] for x in r["actions"] if x["action"] == "memory_failure"] for r in (a, b)]
    assert mf == [["BUS_MCEERR_AR"], ["BUS_MCEERR_AO"]]
    nmi = hest(ghes(0, "NMI", v2=True))
    a, b = _differs(nmi, [wn(0.0, 0, NMI, mem_block(0x1000))], "x86_64")
    assert a["summary"]["acked"] == 1 and b["summary"]["acked"] == 0               # no ack on the old NMI path


# -- streams ----------------------------------------------------------------------------------------------------------

def _events():
    return [wn(0.01 * i, 0, SCI, mem_block(0x1000 * (i + 1))) for i in range(6)] + [Event(1.0, "tick")]


def test_packed_round_trip_and_corruption_is_counted():
    buf = io.BytesIO()
    assert pack_events(_events(), buf) == 7
    data = bytearray(buf.getvalue())
    stats = StreamStats()
    back = list(read_packed(io.BytesIO(bytes(data)), "s", stats))
    assert [(e.at, e.kind, e.source, e.data) for e in back] == [(e.at, e.kind, e.source, e.data) for e in _events()]
    assert (stats.total, stats.rejected) == (7, 0)
    frame = 8 + 24 + len(mem_block(0x1000)) + 4
    data[8 + 2 * frame + 40] ^= 0xFF                     # inside frame 2's payload
    data[8 + 4 * frame + 3] ^= 0xFF                      # frame 4's header
    stats = StreamStats()
    got = list(read_packed(io.BytesIO(bytes(data)), "s", stats, chunk=64))
    assert stats.rejected == 2 and stats.total == 7 and len(got) + stats.rejected == stats.total
    assert [e.place("s") for e in got] == [f"s: frame {i}" for i in (0, 1, 3, 5, 6)]
    cut = StreamStats()
    got = list(read_packed(io.BytesIO(bytes(buf.getvalue()[:-30])), "s", cut))
    assert any("cut short" in p for p in cut.problems) and len(got) + cut.rejected == cut.total


def test_cli_replay_jsonl_and_json_output(tmp_path):
    hest_path = tmp_path / "hest.aml"
    hest_path.write_bytes(apeitool.build({"sources": [ghes(0, "SEA")]}, "hest"))
    spec = memory_error_spec(0x40FA6000, "recoverable", True)
    lines = [{"at": 0.0, "event": "write", "source": 0, "estatus": spec, "notify": "SEA"},
             {"at": 0.5, "event": "notify", "type": "SEA", "cpu": 1}, {"at": 1.0, "event": "tick"}]
    stream = tmp_path / "s.jsonl"
    stream.write_text("# a comment\n" + "\n".join(json.dumps(x) for x in lines) + "\n")
    result = CliRunner().invoke(main, ["replay", "--hest", str(hest_path), "-f", "json", str(stream)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc["summary"]) == {"notifications", "records_read", "queued", "processed", "throttled",
                                   "dropped_pool", "printed", "ratelimited", "acked", "memory_failure_queued",
                                   "memory_failure_overflow", "panics"}
    assert doc["summary"]["records_read"] == 1 and "FW.SPURIOUS_NOTIFY" in ids(doc)
    assert doc["stream"] == {"total": 3, "processed": 3, "rejected": 0, "problems": [], "problems_not_listed": 0}
    text = CliRunner().invoke(main, ["replay", "--hest", str(hest_path), str(stream)])
    assert text.exit_code == 0 and "physical_address: 0x0000000040fa6000" in text.output


def test_cli_bad_stream_line_is_one_line_exit_2(tmp_path):
    hest_path = tmp_path / "hest.aml"
    hest_path.write_bytes(apeitool.build({"sources": [ghes(0, "SEA")]}, "hest"))
    stream = tmp_path / "s.jsonl"
    stream.write_text('{"at": 0, "event": "tick"}\n{"at": 1, "event": "write", "source": 0, "hex": "zz"}\n')
    result = CliRunner().invoke(main, ["replay", "--hest", str(hest_path), str(stream)])
    assert result.exit_code == 2 and "line 2" in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_bare_cper_pack_unpack(tmp_path):
    hest_path = tmp_path / "hest.aml"
    hest_path.write_bytes(apeitool.build({"sources": [ghes(0, "SCI")]}, "hest"))
    blocks = tmp_path / "blocks.bin"
    blocks.write_bytes(mem_block(0x1000) + mem_block(0x2000))
    runner = CliRunner()
    assert runner.invoke(main, ["replay", "--hest", str(hest_path), str(blocks)]).exit_code == 2   # needs --notify
    result = runner.invoke(main, ["replay", "--hest", str(hest_path), "--notify", "SCI", "--source", "0",
                                  "-f", "json", str(blocks)])
    assert result.exit_code == 0 and json.loads(result.output)["summary"]["records_read"] == 2
    packed = tmp_path / "b.apeirpl"
    assert runner.invoke(main, ["stream", "pack", "--notify", "SCI", "--source", "0", str(blocks),
                                str(packed)]).exit_code == 0
    unpacked = runner.invoke(main, ["stream", "unpack", str(packed)])
    assert unpacked.exit_code == 0
    events = [json.loads(x) for x in unpacked.output.splitlines() if x.startswith("{")]
    assert [(e["event"], e["notify"], e["source"]) for e in events] == [("write", "SCI", 0)] * 2
    via_packed = runner.invoke(main, ["replay", "--hest", str(hest_path), "-f", "json", str(packed)])
    assert json.loads(via_packed.output)["summary"] == json.loads(result.output)["summary"]


def test_cper_records_replay_as_blocks(tmp_path):
    record = apeitool.build({"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "platform_memory"}, "body": {"physical_address": 0x3000}}]}]}, "cper")
    from apeitool.replay.stream import read_bare
    stats = StreamStats()
    [ev] = list(read_bare(record, "r", stats, SCI, 0, 0.0))
    r = replay(hest(ghes(0, "SCI")), [ev])
    assert r["summary"]["records_read"] == 1 and r["actions"][0]["pfn"] == 3


def test_cli_example_and_help():
    result = CliRunner().invoke(main, ["replay", "--example", "-f", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["summary"]["throttled"] == 4 and doc["summary"]["printed"] == 2
    for cmd in (["replay", "--help"], ["stream", "--help"], ["stream", "pack", "--help"]):
        out = CliRunner().invoke(main, cmd)
        assert out.exit_code == 0
    assert "Examples:" in CliRunner().invoke(main, ["replay", "--help"]).output


def test_estatus_len_rule():
    assert estatus_len((1, 0, 0, 100, 0)) == 120 and estatus_len((1, 300, 16, 100, 0)) == 316
    assert isinstance(Kernel, type)


def test_progress_reader_feeds_every_stream_kind(tmp_path):
    from rich.progress import Progress
    from apeitool.cli import _ProgressReader, _open_stream
    jsonl = tmp_path / "s.jsonl"
    jsonl.write_text('{"at": 0, "event": "tick"}\n{"at": 1, "event": "notify", "type": "SEA"}\n')
    packed = tmp_path / "s.apeirpl"
    with open(packed, "wb") as f:
        pack_events(_events(), f)
    for path, count in ((jsonl, 2), (packed, 7)):
        progress = Progress(disable=True)
        task = progress.add_task("t", total=path.stat().st_size)
        stats = StreamStats()
        events = list(_open_stream(str(path), None, None, 0.0,
                                   lambda f, _l: _ProgressReader(f, progress, task))(stats))
        assert len(events) == count and progress.tasks[0].completed == path.stat().st_size


def test_queued_path_clears_and_acks_bad_headers_and_bad_records():
    h = hest(ghes(0, "SDEI", block=100, notify={"vector": 1}), ghes(1, "SDEI", notify={"vector": 2}))
    bad = bytearray(mem_block(0x1000))
    bad[12:16] = (70).to_bytes(4, "little")                  # header passes, cper_estatus_check fails
    sim = Simulation(h, "v5.1", "arm64")
    free = sim.kernel.pool.available
    sim.handle(wn(0.0, 0, SDEI, mem_block(0x2000)))          # longer than source 0's 100-byte block
    sim.handle(wn(0.0, 1, SDEI, bytes(bad)))
    c = sim.rec.counts
    assert c["acked"] == 2 and c["queued"] == 0 and c["records_read"] == 0
    assert sim.kernel.pool.available == free                  # the node of the bad record was freed
    assert all(sim.mem.read_int(s.block, 4) == 0 for s in sim.fw.sources)


def test_queued_path_acts_before_printing_and_irq_path_prints_first():
    r = replay(hest(ghes(0, "SEA")), [wn(0.0, 0, SEA, mem_block(0x1000))])
    first = next(i for i, x in enumerate(r["log"]) if "Memory failure" in x)
    head = next(i for i, x in enumerate(r["log"]) if "Hardware error from APEI" in x)
    assert first < head
    r = replay(hest(ghes(0, "SCI")), [wn(0.0, 0, SCI, mem_block(0x1000)), Event(1.0, "tick")])
    assert any("Hardware error from APEI" in x for x in r["log"])
    assert r["actions"][0]["at"] == 0.0 and r["actions"][0]["via"] == "queue"


def test_block_longer_than_64k_is_warned_at_probe():
    sim = Simulation(hest(ghes(0, "SCI", block=0x20000)), "v5.1", "arm64")
    assert any("Error status block length is too long: 131072" in x for x in sim.rec.log.items)


def test_cli_unpack_of_a_corrupted_stream_writes_the_good_frames_and_exits_1(tmp_path):
    blocks = tmp_path / "blocks.bin"
    blocks.write_bytes(mem_block(0x1000) + mem_block(0x2000) + mem_block(0x3000))
    packed = tmp_path / "b.apeirpl"
    runner = CliRunner()
    assert runner.invoke(main, ["stream", "pack", "--notify", "SCI", "--source", "0", str(blocks),
                                str(packed)]).exit_code == 0
    raw = bytearray(packed.read_bytes())
    raw[len(FILE_MAGIC) + FRAME.size + 30] ^= 0xFF          # inside the first frame's payload
    packed.write_bytes(bytes(raw))
    out = tmp_path / "events.jsonl"
    result = runner.invoke(main, ["stream", "unpack", str(packed), "-o", str(out)])
    assert result.exit_code == 1 and "1 rejected" in result.output and "corrupted frame" in result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(x)["event"] == "write" for x in lines)


def test_keep_caps_the_lists_but_not_the_counts():
    """Past --keep the log, actions and timeline only count what they drop; the summary is the same."""
    h = hest(ghes(0, "SEA"), ghes(1, "SCI"))
    events = []
    for i in range(40):
        events += [wn(i * 0.5, i % 2, SEA if i % 2 == 0 else SCI, mem_block(0x1000 * (i + 1)), cpu=i % 4)]
    full = replay(h, events, arch="arm64", keep=100000)
    capped = replay(h, events, arch="arm64", keep=5)
    assert capped["summary"] == full["summary"]
    assert capped["violation_counts"] == full["violation_counts"]
    for key in ("log", "actions", "timeline"):
        assert capped[key] == full[key][:5]
        assert capped["not_kept"][key] == len(full[key]) - 5
    assert "not_kept" not in full


def test_v50_fatal_record_is_not_acked_before_the_panic():
    """v5.0's __ghes_panic cleared block_status and panicked; the GHESv2 ack sat after ghes_proc's
    "out:" and was never reached. From v5.1 __ghes_panic -> ghes_clear_estatus acks (SEA and NMI)."""
    for notify, arch in ((SEA, "arm64"), (NMI, "x86_64")):
        h = hest(ghes(0, notify))
        events = [wn(0.0, 0, notify, mem_block(0x1000, "fatal"))]
        old = replay(h, events, kernel="v5.0", arch=arch)
        new = replay(h, events, arch=arch)
        assert old["summary"]["panics"] == new["summary"]["panics"] == 1, notify
        assert old["summary"]["acked"] == 0 and new["summary"]["acked"] == 1, notify


@pytest.mark.parametrize("version, flags, signal, via, sigbus_line", [
    ("5.4", "0", "BUS_MCEERR_AO", "queue", False),                                   # no kick yet
    ("6.1", "0", "BUS_MCEERR_AO", "queue kicked before return to user", False),      # v5.8 kick
    ("6.12", "MF_ACTION_REQUIRED", "BUS_MCEERR_AR", "task_work", True),              # v6.9 task_work
])
def test_synchronous_memory_error_per_kernel_era(version, flags, signal, via, sigbus_line):
    """A recoverable memory error taken by SEA: queued (<5.8), queued and kicked by a task_work
    before the return to user, still AO (5.8-6.8), memory_failure(MF_ACTION_REQUIRED) from
    task_work (6.9+). Only 6.9+ prints the SIGBUS line for a synchronous error that queued nothing."""
    h = hest(ghes(0, "SEA"))
    r = replay(h, [wn(0.0, 0, SEA, mem_block(0x40042000))], kernel_version=version)
    mf = [a for a in r["actions"] if a["action"] == "memory_failure"]
    assert len(mf) == 1 and (mf[0]["flags"], mf[0]["signal"], mf[0]["via"]) == (flags, signal, via)
    lost = replay(h, [wn(0.0, 0, SEA, mem_block(0x1000, "corrected"))], kernel_version=version)
    assert any("synchronous unrecoverable error (SIGBUS)" in x for x in lost["log"]) == sigbus_line


def test_kernel_version_before_5_1_is_the_old_queue():
    """--kernel-version 4.19 is the v5.0 model: SEA handled in place (no estatus pool), the NMI
    path never acks a GHESv2, the panic says "Fatal hardware error!"."""
    h = hest(ghes(0, "SCI"))
    r = replay(h, [wn(0.0, 0, SCI, mem_block(0x1000, "fatal"))], kernel_version="4.19")
    assert r["log"][-1].endswith("Kernel panic - not syncing: Fatal hardware error!")
    assert r["summary"]["acked"] == 0
    new = replay(h, [wn(0.0, 0, SCI, mem_block(0x1000, "fatal"))], kernel_version="6.1")
    assert new["log"][-1].endswith("GHES: Fatal hardware error") and new["summary"]["acked"] == 1


# -- shared registers are shared (ghes.c never checks overlap) ---------------------------------------------------

def w(at, source, data):
    return Event(at, "write", source, 0, None, data, False, f"w@{at}")


def test_shared_status_register_is_one_block_read_under_the_notified_source():
    """Two GHES naming one Error Status Address register read one block: a record written for
    source 1 is printed (once) under Source Id 2, because an SCI runs the HED list and ghes_probe
    added each source at its head (list_add_rcu), so source 2 reads and clears the block first."""
    one, two = ghes(1, "SCI", v2=False), ghes(2, "SCI", v2=False)
    two["error_status_address"] = gas(0x80000008)          # source 1's register
    r = replay(hest(one, two), [w(0.0, 1, mem_block(0x5000)), n(1.0, SCI)])
    assert r["layout"][0]["status_address_register"] == r["layout"][1]["status_address_register"] == 0x80000008
    assert r["layout"][0]["block"] == r["layout"][1]["block"] and "FW.LAYOUT_RELOCATED" not in ids(r)
    assert "FW.SHARED_STATUS_REGISTER" in ids(r)
    heads = [x for x in r["log"] if "Hardware error from APEI" in x]
    assert len(heads) == 1 and heads[0].endswith("Source: 2")
    # the second writer finds the first record still pending in the one block
    r = replay(hest(one, two), [w(0.0, 1, mem_block(0x5000)), w(0.5, 2, mem_block(0x6000))])
    assert "FW.OVERWRITE_PENDING" in ids(r)


def test_shared_read_ack_doorbell_acks_each_source_by_its_write_value():
    """Ampere-style: two GHESv2 share one Read Ack register, Preserve 0, Write 1 and 2. Each OS ack
    writes its own value; firmware tells the sources apart by it. Same values: ambiguous."""
    a = ghes(1, "SCI", read_ack_preserve=0, read_ack_write=1)
    b = ghes(2, "SCI", read_ack_preserve=0, read_ack_write=2)
    b["read_ack_register"] = gas(0x80001008)               # a's register
    events = [w(0.0, 1, mem_block(0x5000)), n(0.0, SCI, source=1), w(1.0, 2, mem_block(0x6000)),
              n(1.0, SCI, source=2), w(2.0, 1, mem_block(0x7000)), n(2.0, SCI, source=1)]
    r = replay(hest(a, b), events)
    assert r["summary"]["acked"] == 3 and "FW.OVERWRITE_UNACKED" not in ids(r)
    assert "FW.SHARED_ACK_AMBIGUOUS" not in ids(r)
    b["read_ack_write"] = 1
    assert "FW.SHARED_ACK_AMBIGUOUS" in ids(replay(hest(a, b), events))
    # unacked: source 2 writes again before its first record was read
    r = replay(hest(a, b), [w(0.0, 2, mem_block(0x6000)), n(0.0, SCI, source=1), w(1.0, 2, mem_block(0x6000))])
    assert "FW.OVERWRITE_PENDING" in ids(r) or "FW.OVERWRITE_UNACKED" in ids(r)


def test_overlapping_registers_are_memory_not_moved():
    """A status register that overlaps another source's by half: writing one block address changes
    what the other register reads; the OS then looks for the record at the wrong address."""
    one, two = ghes(1, "SCI", v2=False), ghes(2, "SCI", v2=False)
    one["error_status_address"] = gas(0x80000000)
    two["error_status_address"] = gas(0x80000004)
    r = replay(hest(one, two), [w(0.0, 1, mem_block(0x5000)), n(0.0, SCI, source=1)])
    assert "FW.REGISTER_OVERLAP" in ids(r) and "FW.LAYOUT_RELOCATED" not in ids(r)
    assert r["summary"]["records_read"] == 0 and "FW.PENDING_AT_END" in ids(r)


def test_sdei_event_reaches_only_its_source():
    """ghes_sdei_register: each SDEI GHES registers its own event (notify.vector) with itself as the
    handler's argument, so an event reads one source; a notification naming none reaches nothing."""
    h = hest(ghes(1, "SDEI", notify={"vector": 3}), ghes(2, "SDEI", notify={"vector": 4}))
    events = [w(0.0, 1, mem_block(0x1000)), w(0.0, 2, mem_block(0x2000)), n(0.5, SDEI), n(1.0, SDEI, source=2)]
    r = replay(h, events)
    assert "FW.SDEI_NO_EVENT" in ids(r)
    heads = [x for x in r["log"] if "Hardware error from APEI" in x]
    assert len(heads) == 1 and heads[0].endswith("Source: 2")
    assert r["summary"]["records_read"] == 1 and "FW.PENDING_AT_END" in ids(r)     # source 1 never read


def test_sdei_probe_refuses_event_zero_and_a_duplicate_event_number():
    """sdei_register_ghes: event 0 (SDEI_EVENT_SIGNAL) is -EINVAL; sdei_event_register refuses an
    event number already registered ("sdei: Event %u already registered", -EBUSY). ghes_probe
    fails for both and their blocks are never read; the first source of the event still works."""
    h = hest(ghes(1, "SDEI", notify={"vector": 0}), ghes(2, "SDEI", notify={"vector": 7}),
             ghes(3, "SDEI", notify={"vector": 7}))
    sim = Simulation(h, arch="arm64")
    assert sorted(sim.kernel.sources) == [2]
    r = replay(h, [w(0.0, 2, mem_block(0x1000)),
                   n(0.0, SDEI, source=2), w(1.0, 3, mem_block(0x2000)), n(1.0, SDEI, source=3)])
    assert {"FW.SDEI_EVENT_ZERO", "FW.SDEI_DUPLICATE_EVENT", "FW.NOTIFY_NO_HANDLER"} <= set(ids(r))
    assert any(x.endswith("] sdei: Event 7 already registered") for x in r["log"])
    assert r["summary"]["records_read"] == 1


@pytest.mark.parametrize("outer,inner,violation", [
    ("normal", "critical", None),                  # critical preempts normal: own lock and fixmap
    ("critical", "normal", "FW.SDEI_PRIORITY"),    # never the reverse
    ("normal", "normal", "FW.NMI_REENTRY"),        # one priority does not nest in itself
])
def test_sdei_priorities_nest_as_the_dispatcher_allows(outer, inner, violation):
    """ghes_sdei_normal_callback / ghes_sdei_critical_callback run under their own raw spinlocks
    and fixmap slots, so a critical event arriving inside a normal one is handled; both records
    are queued and printed by the irq_work."""
    h = hest(ghes(1, "SDEI", notify={"vector": 10}), ghes(2, "SDEI", notify={"vector": 20}),
             ghes(3, "SDEI", notify={"vector": 30}))
    vec = {"normal": [1, 3], "critical": [2]}
    first, second = vec[outer][0], vec[inner][-1] if inner != outer else vec[inner][1]
    critical = {20}
    r = replay(h, [wn(0.0, first, SDEI, mem_block(0x1000)), wn(0.0, second, SDEI, mem_block(0x2000), nested=True)],
               sdei_critical=critical)
    found = [v for v in ids(r) if v in ("FW.SDEI_PRIORITY", "FW.NMI_REENTRY")]
    assert found == ([violation] if violation else [])
    assert r["summary"]["processed"] == 2


def test_v50_nmi_pool_is_page_chunks_a_record_over_a_page_is_dropped_unseen():
    """v4.19/v5.0 ghes_estatus_pool_expand added the pool a page at a time and a gen_pool allocation
    cannot span chunks: a 5000-byte record on the NMI path is dropped by __process_error without a
    word, its block cleared and not acked. v5.1's single range holds it."""
    spec = memory_error_spec(0x1000, "recoverable", True)
    spec["blocks"][0]["raw_data"] = "00" * 5000
    big = apeitool.build(spec, "estatus")
    h = hest(ghes(0, "NMI", v2=False, block=0x4000, records_to_preallocate=4))
    old = replay(h, [wn(0.0, 0, NMI, big)], kernel_version="5.0", arch="x86_64")
    assert old["summary"]["dropped_pool"] == 1 and old["summary"]["printed"] == 0
    assert not any("[Hardware Error]" in x for x in old["log"]) and "FW.RECORD_OVER_PAGE" in ids(old)
    small = replay(h, [wn(0.0, 0, NMI, mem_block(0x1000))], kernel_version="5.0", arch="x86_64")
    assert small["summary"]["printed"] == 1
    new = replay(h, [wn(0.0, 0, NMI, big)], arch="x86_64")
    assert new["summary"]["dropped_pool"] == 0 and new["summary"]["printed"] == 1


def test_record_over_the_kernels_64k_buffer_is_rejected():
    """ghes_new cuts Error Status Block Length to GHES_ESTATUS_MAX_SIZE (64 KiB, with its warning);
    a 70,000-byte record in a 100,000-byte block then fails the length check."""
    spec = memory_error_spec(0x1000, "recoverable", True)
    spec["blocks"][0]["raw_data"] = "00" * 70000
    big = apeitool.build(spec, "estatus")
    h = hest(ghes(0, "SCI", v2=False, block=100000))
    r = replay(h, [wn(0.0, 0, SCI, big)])
    log = "\n".join(r["log"])
    assert "Error status block length is too long: 100000" in log
    assert "[Firmware Warn]: GHES: Invalid error status block length!" in log
    assert r["summary"]["printed"] == 0 and "FW.RECORD_OVER_KERNEL_BUFFER" in ids(r)


def test_v50_says_failed_to_read_for_every_failed_check():
    """v5.0's ghes_read_estatus had one message ("Failed to read error status block!") for the
    length, header and body checks alike; v5.1 split them."""
    h = hest(ghes(0, "SCI", v2=False, block=0x100))
    big = mem_block(0x1000)
    long_block = bytearray(big)
    long_block[12:16] = (0x200).to_bytes(4, "little")          # data_length past the 256-byte block
    old = replay(h, [wn(0.0, 0, SCI, bytes(long_block))], kernel_version="5.0")
    new = replay(h, [wn(0.0, 0, SCI, bytes(long_block))])
    assert any(x.endswith("[Firmware Warn]: GHES: Failed to read error status block!") for x in old["log"])
    assert any(x.endswith("[Firmware Warn]: GHES: Invalid error status block length!") for x in new["log"])


def test_sea_context_kernel_user_guest_per_era():
    """do_sea (v5.8 on) tries apei_claim_sea only for user-mode aborts: a SEA in kernel context is
    not claimed, the record stays, the kernel dies. Before, the claim result was ignored: the record
    was processed, then the fault table's signal (user) or die (kernel). KVM's apei_claim_sea(NULL)
    for a guest's SEA is processed like a user one; nothing claimed injects an abort into the guest."""
    h = hest(ghes(0, "SEA"))
    rec = mem_block(0x42000)
    kernel_ctx = Event(0.0, "write_notify", 0, 0, SEA, rec, False, "k", -1, "kernel")
    new = replay(h, [kernel_ctx])
    assert new["stopped"].startswith("die") and new["summary"]["records_read"] == 0
    assert "FW.PENDING_AT_END" not in ids(new)          # the machine stopped: nothing runs at the end
    old = replay(h, [kernel_ctx], kernel_version="5.4")
    assert old["stopped"].startswith("die") and old["summary"]["records_read"] == 1
    user_old = replay(h, [wn(0.0, 0, SEA, rec)], kernel_version="5.4")
    assert "signal" in [x["action"] for x in user_old["actions"]]
    user_new = replay(h, [wn(0.0, 0, SEA, rec)])
    assert "signal" not in [x["action"] for x in user_new["actions"]]
    guest = replay(h, [Event(0.0, "write_notify", 0, 0, SEA, rec, False, "g", -1, "guest")])
    assert guest["summary"]["records_read"] == 1 and not guest.get("stopped")
    nothing = replay(h, [Event(0.0, "notify", None, 0, SEA, None, False, "g", -1, "guest")])
    assert [x["action"] for x in nothing["actions"]] == ["inject_guest_abort"]


def test_context_survives_jsonl_and_packed_streams():
    from apeitool.replay.stream import event_json, parse_event
    ev = parse_event({"at": 1.0, "event": "notify", "type": "SEA", "context": "kernel"}, "t")
    assert ev.context == "kernel" and event_json(ev)["context"] == "kernel"
    buf = io.BytesIO()
    pack_events([ev, Event(2.0, "notify", None, 0, SEA, None, True, "", -1, "guest")], buf)
    got = list(read_packed(io.BytesIO(buf.getvalue()), "t", StreamStats()))
    assert [(e.context, e.nested) for e in got] == [("kernel", False), ("guest", True)]
    with pytest.raises(apeitool.errors.InputError, match="context"):
        parse_event({"at": 1.0, "event": "notify", "type": "SEA", "context": "irq"}, "t")


@pytest.mark.parametrize("version, refused", [("5.10", True), ("6.12", True), ("7.2", False)])
def test_memory_failure_needs_ram_until_any_pfn_is_handed_on(version, refused):
    """ghes_do_memory_failure refused a PFN that is not pfn_valid() ("Invalid address in generic
    error data", nothing queued) until "allow poison of non-struct pfn" (7.2 has it; the vm tests saw
    both). RAM is the machine's map: QEMU virt's from 1 GiB on arm64 by default, or given."""
    h = hest(ghes(0, "SCI", v2=False))
    r = replay(h, [wn(0.0, 0, SCI, mem_block(0x1000))], arch="arm64", kernel_version=version)
    assert any("GHES: Invalid address in generic error data: 0x1000" in x for x in r["log"]) == refused
    assert r["summary"]["memory_failure_queued"] == (0 if refused else 1)
    given = replay(h, [wn(0.0, 0, SCI, mem_block(0x1000))], arch="arm64", kernel_version=version,
                   ram=[(0, 1 << 30)])
    assert given["summary"]["memory_failure_queued"] == 1
    # a synchronous error whose PFN is refused queued nothing: from 6.9 the task gets SIGBUS
    sea = replay(hest(ghes(0, "SEA")), [wn(0.0, 0, SEA, mem_block(0x1000))], kernel_version=version)
    assert any("synchronous unrecoverable error (SIGBUS)" in x for x in sea["log"]) == (refused and version != "5.10")


def test_ram_option_on_the_command_line(tmp_path):
    h = tmp_path / "h.aml"
    h.write_bytes(apeitool.build({"sources": [ghes(0, "SCI", v2=False)]}, "hest"))
    ev = tmp_path / "ev.jsonl"
    ev.write_text(json.dumps({"at": 0, "event": "write", "source": 0, "notify": "SCI",
                              "hex": mem_block(0x1000).hex()}) + "\n")
    runner = CliRunner()
    args = ["replay", "--hest", str(h), str(ev), "--arch", "arm64", "--kernel-version", "6.1", "-f", "json"]
    refused = json.loads(runner.invoke(main, args).output)
    given = json.loads(runner.invoke(main, args + ["--ram", "0-0x40000000"]).output)
    assert refused["summary"]["memory_failure_queued"] == 0 and given["summary"]["memory_failure_queued"] == 1
    bad = runner.invoke(main, args + ["--ram", "0x2000-0x1000"])
    assert bad.exit_code == 2 and "--ram" in bad.output


def test_ghes_assist_helper_is_never_read_and_said_so():
    """hest.c skips a GHES whose Related Source Id names a machine-check source with GHES_ASSIST
    set ("GHES_ASSIST is not supported"): its records stay unread, which replay says once."""
    mce = {"type": "IA32_MCE", "source_id": 7, "flags": {"firmware_first": False, "ghes_assist": True},
           "enabled": 1, "records_to_preallocate": 1, "max_sections_per_record": 1,
           "global_capability_data": 0, "global_control_data": 0, "banks": []}
    helper = ghes(1, "POLLED", v2=False, related_source_id=7, notify={"poll_interval": 100})
    r = replay(hest(mce, helper), [w(0.0, 1, mem_block(0x1000)), w(0.5, 1, mem_block(0x1000)),
                                   Event(1.0, "tick")], arch="x86_64")
    assert ids(r).count("FW.ASSIST_SOURCE") == 1 and r["summary"]["records_read"] == 0
    mce["flags"]["ghes_assist"] = False          # no longer a helper: an ordinary polled GHES
    r = replay(hest(mce, helper), [w(0.0, 1, mem_block(0x1000)), Event(1.0, "tick")], arch="x86_64")
    assert "FW.ASSIST_SOURCE" not in ids(r) and r["summary"]["records_read"] == 1


def test_panic_timeout_per_era():
    """__ghes_panic with panic= 0: before the change the kernel set 30 s ("reboot to log the
    error!") and said "Fatal hardware error!"; after it says "... but panic disabled" and stays."""
    h = hest(ghes(0, "SCI"))
    ev = [wn(0.0, 0, SCI, mem_block(0x1000, "fatal"))]
    new = replay(h, ev, kernel_version="6.12")
    assert new["log"][-2].endswith("GHES: Fatal hardware error but panic disabled")
    assert [a for a in new["actions"] if a["action"] == "panic"][0]["then"] == "halt"
    old = replay(h, ev, kernel_version="5.10")
    assert not any("panic disabled" in x for x in old["log"])
    assert [a for a in old["actions"] if a["action"] == "panic"][0]["then"] == "reboot after 30 s"
    set_ = replay(h, ev, kernel_version="6.12", panic_timeout=-1)
    assert not any("panic disabled" in x for x in set_["log"])
