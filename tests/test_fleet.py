"""apeitool db / decode -f parquet / apeitool.fleet: rows from the spec's validation bits, the SQLite
database's guarantees (idempotent, per-file transactions, resumable), rasdaemon's schema read by
Debian's ras-mc-ctl, and Dask computing exactly what one process computes."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess

import pytest
from click.testing import CliRunner

import apeitool
from apeitool.cli import main
from apeitool.cper import build_document
from apeitool.fleet import rows as fleet_rows
from apeitool.fleet.db import ingest, open_db, read_tables
from apeitool.gen import mixed_records

from conftest import corpus_files


def record(sections, severity="corrected", timestamp="2026-11-03T10:20:30", record_id=1):
    return build_document({"records": [{"header": {"error_severity": severity, "timestamp": timestamp,
                                                   "record_id": record_id,
                                                   "validation_bits": {"timestamp": True}},
                                        "sections": sections}]})


def memory(**body):
    return {"descriptor": {"section_type": "platform_memory"}, "body": body}


def pcie(seg, bus, dev, fn, uncor=0, cor=0):
    aer = bytearray(96)
    aer[4:8] = uncor.to_bytes(4, "little")
    aer[16:20] = cor.to_bytes(4, "little")
    return {"descriptor": {"section_type": "pcie"},
            "body": {"device_id": {"segment": seg, "primary_bus": bus, "device": dev, "function": fn,
                                   "vendor_id": 0x8086, "device_id": 0x1234}, "aer_info": aer.hex()}}


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def table(db, name):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    out = [dict(r) for r in conn.execute(f"SELECT * FROM {name} ORDER BY key, idx" if name != "records"
                                          else f"SELECT * FROM {name} ORDER BY key")]
    conn.close()
    return out


# -- rows ------------------------------------------------------------------------------------------------

def test_memory_row_has_only_the_fields_whose_validation_bit_is_set(tmp_path):
    raw = record([memory(physical_address=0x12345000, node=1, module_handle=0x20, memory_error_type=2)])
    rows, _ = fleet_rows.window_rows(raw, "record", "f", 0, 0, "h1")
    mem = dict(zip(fleet_rows.COLUMNS["memory_errors"], rows.tables["memory_errors"][0]))
    assert mem["physical_address"] == "0x0000000012345000"
    assert mem["node"] == 1 and mem["card"] is None and mem["bank"] is None and mem["row"] is None
    assert mem["error_type"] == "single-bit ECC" and mem["dimm"] == "node 1 handle 0x0020"
    sec = dict(zip(fleet_rows.COLUMNS["sections"], rows.tables["sections"][0]))
    assert (sec["component_kind"], sec["component"], sec["day"]) == ("memory", "node 1 handle 0x0020", "2026-11-03")
    rec = dict(zip(fleet_rows.COLUMNS["records"], rows.tables["records"][0]))
    assert rec["timestamp"] == "2026-11-03T10:20:30" and rec["severity"] == "corrected"
    assert json.loads(rec["model"])["sections"][0]["body"]["node"] == 1
    assert rec["key"] == fleet_rows.item_key(raw)


def test_pcie_row_reads_the_aer_status_words_and_names_the_device():
    raw = record([pcie(1, 0x3a, 2, 1, uncor=1 << 12)], severity="recoverable")
    rows, _ = fleet_rows.window_rows(raw, "record", "f", 0, 0, None)
    p = dict(zip(fleet_rows.COLUMNS["pcie_errors"], rows.tables["pcie_errors"][0]))
    assert p["bdf"] == "0001:3a:02.1" and p["uncorrectable_status"] == 1 << 12 and p["correctable_status"] == 0
    assert rows.tables["sections"][0][-3:] == ("pcie", "0001:3a:02.1", "uncorrectable")


def test_every_section_type_gives_rows_and_64_bit_values_stay_exact():
    data = b"".join(raw for _k, raw in mixed_records(60, seed=7))
    rows, _ = fleet_rows.window_rows(data, "record", "f", 0, 0, None)
    assert len(rows) == 60
    for t in fleet_rows.SECTION_TABLES:
        assert rows.tables[t], t
    for r in rows.tables["memory_errors"]:
        assert r[2] is None or (len(r[2]) == 18 and int(r[2], 16) < 1 << 64)


# -- ingest ------------------------------------------------------------------------------------------------

def test_ingest_twice_is_a_no_op_and_a_changed_file_adds_only_new_records(tmp_path):
    f = tmp_path / "a.cper"
    f.write_bytes(record([memory(physical_address=0x1000)], record_id=1) + record([memory(node=2)], record_id=2))
    db = str(tmp_path / "e.sqlite")
    first = ingest(db, [str(f)], host="h")
    assert (first.items, first.new_items) == (2, 2)
    again = ingest(db, [str(f)], host="h")
    assert [x.status for x in again.files] == ["skipped"]
    f.write_bytes(f.read_bytes() + record([memory(node=3)], record_id=3))
    more = ingest(db, [str(f)], host="h")
    assert (more.items, more.new_items) == (3, 1)
    assert len(table(db, "records")) == 3 and len(table(db, "memory_errors")) == 3


def test_bad_file_is_rolled_back_reported_on_one_line_and_the_others_go_on(tmp_path):
    good = tmp_path / "good.cper"
    good.write_bytes(record([memory(node=1)]))
    bad = bytearray(record([memory(node=5)], record_id=5) + record([memory(node=6)], record_id=6))
    half = len(bad) // 2
    bad[half + 20:half + 24] = (1 << 30).to_bytes(4, "little")     # the second record's length lies
    (tmp_path / "bad.cper").write_bytes(bytes(bad))
    db = str(tmp_path / "e.sqlite")
    r = run("db", "ingest", "--db", db, str(tmp_path / "bad.cper"), str(good))
    assert r.exit_code == 1
    err = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(err) == 1 and "bad.cper" in err[0] and "offset" in err[0]
    nodes = [m["node"] for m in table(db, "memory_errors")]
    assert nodes == [1]                                         # nothing of bad.cper, not even record 5
    files = {os.path.basename(x["path"]): x["status"] for x in table_files(db)}
    assert files == {"bad.cper": "failed", "good.cper": "done"}


def table_files(db):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    out = [dict(r) for r in conn.execute("SELECT * FROM files")]
    conn.close()
    return out


def test_json_lines_and_blocks_and_sections_give_the_same_keys_as_the_bytes(tmp_path):
    data = b"".join(raw for _k, raw in mixed_records(30, seed=3))
    (tmp_path / "r.cper").write_bytes(data)
    r = run("decode", "-f", "jsonl", str(tmp_path / "r.cper"), "-o", str(tmp_path / "r.jsonl"))
    assert r.exit_code == 0
    run("decode", "-f", "json", str(tmp_path / "r.cper"), "-o", str(tmp_path / "r.json"))
    keys = {}
    for name in ("r.cper", "r.jsonl", "r.json"):
        db = str(tmp_path / f"{name}.sqlite")
        assert ingest(db, [str(tmp_path / name)]).failed == []
        keys[name] = [(x["key"], x["section_count"]) for x in table(db, "records")]
    assert keys["r.cper"] == keys["r.jsonl"] == keys["r.json"] and len(keys["r.cper"]) == 30


def test_status_blocks_ingest_with_their_entries(tmp_path):
    block = apeitool.build({"error_severity": "recoverable", "entries": [
        {"section_type": "platform_memory", "error_severity": "recoverable", "revision": 0x300,
         "body": {"physical_address": 0x2000, "card": 4}}]}, "estatus")
    (tmp_path / "b.bin").write_bytes(block + bytes(64))
    db = str(tmp_path / "e.sqlite")
    assert ingest(db, [str(tmp_path / "b.bin")]).new_items == 1
    assert table(db, "records")[0]["form"] == "estatus"
    assert table(db, "memory_errors")[0]["card"] == 4


def test_not_cper_is_a_failed_file_with_a_reason(tmp_path):
    hest = tmp_path / "hest.aml"
    r = run("build", "hest", "-o", str(hest))
    assert r.exit_code == 0
    s = ingest(str(tmp_path / "e.sqlite"), [str(hest)])
    assert s.failed and "not CPER" in s.failed[0].error


@pytest.mark.parametrize("path", corpus_files("libcper/allvalid-*.cper", "libcper/multi-*.cper",
                                              "libcper/single-*-1.cper") or [None])
def test_libcper_json_gives_the_rows_of_its_record(path):
    """libcper's JSON of a record and the record itself give equal rows, except Memory2's physical
    address: libcper prints it by a validation bit other than UEFI's (N.2.6 bit 1)."""
    if path is None:
        pytest.skip("corpus not present")
    from apeitool.fleet.sources import plan
    twin = path.with_suffix(".json")
    if not twin.exists():
        pytest.skip("no JSON twin")
    ours = [t.run()[0] for t in plan(str(path), "h")]
    theirs = [t.run()[0] for t in plan(str(twin), "h")]
    mem2 = {(i, s[1]) for i, x in enumerate(ours) for s in x.tables["sections"] if s[5] == "platform_memory2"}
    for t in fleet_rows.SECTION_TABLES + ("sections",):
        a = [(i, r[1:]) for i, x in enumerate(ours) for r in x.tables[t]]
        b = [(i, r[1:]) for i, x in enumerate(theirs) for r in x.tables[t]]
        if t == "memory_errors":
            a = [(i, r[:1] + (None if (i, r[0]) in mem2 else r[1],) + r[2:]) for i, r in a]
            b = [(i, r[:1] + (None if (i, r[0]) in mem2 else r[1],) + r[2:]) for i, r in b]
        assert a == b, t
    strip = lambda x: [r[5:11] for r in x.tables["records"]]     # noqa: E731  (form .. section count)
    assert [strip(x) for x in ours] == [strip(x) for x in theirs]


# -- summary and query -----------------------------------------------------------------------------------

@pytest.fixture()
def small_fleet(tmp_path):
    (tmp_path / "fleet" / "alpha").mkdir(parents=True)
    (tmp_path / "fleet" / "beta").mkdir()
    (tmp_path / "fleet" / "alpha" / "a.cper").write_bytes(
        record([memory(node=0, card=1, module=2)], "corrected", "2026-11-01T01:00:00", 1)
        + record([memory(node=0, card=1, module=2)], "corrected", "2026-11-02T01:00:00", 2)
        + record([pcie(0, 1, 0, 0, cor=1)], "corrected", "2026-11-02T02:00:00", 3))
    (tmp_path / "fleet" / "beta" / "b.cper").write_bytes(
        record([memory(node=0, card=1, module=2)], "recoverable", "2026-11-03T05:00:00", 4)
        + record([memory(node=1)], "fatal", "2026-11-03T06:00:00", 5))
    db = str(tmp_path / "e.sqlite")
    r = run("db", "ingest", "--db", db, "--host-from-dir", str(tmp_path / "fleet"))
    assert r.exit_code == 0, r.output
    return tmp_path, db


def test_summary_counts_components_and_filters(small_fleet):
    tmp_path, db = small_fleet
    s = json.loads(run("db", "summary", "--db", db, "-f", "json").stdout)
    assert (s["records"], s["sections"], s["hosts"]) == (5, 5, 2)
    assert s["by_severity"] == [{"severity": "corrected", "records": 3}, {"severity": "fatal", "records": 1},
                                {"severity": "recoverable", "records": 1}]
    top = s["top_components"]["memory"][0]
    assert (top["component"], top["errors"], top["hosts"]) == ("node 0 card 1 module 2", 3, 2)
    assert top["first"] == "2026-11-01T01:00:00" and top["last"] == "2026-11-03T05:00:00"
    assert s["top_components"]["pcie"] == [{"component": "0000:01:00.0", "errors": 1, "hosts": 1,
                                            "first": "2026-11-02T02:00:00", "last": "2026-11-02T02:00:00"}]
    assert [t["records"] for t in s["timeline"]] == [1, 2, 2]
    only = json.loads(run("db", "summary", "--db", db, "-f", "json", "--host", "beta",
                          "--until", "2026-11-03T05").stdout)
    assert only["records"] == 1 and only["by_severity"] == [{"severity": "recoverable", "records": 1}]
    since = json.loads(run("db", "summary", "--db", db, "-f", "json", "--since", "2026-11-02").stdout)
    assert since["records"] == 4
    text = run("db", "summary", "--db", db).stdout
    assert "\tnode 0 card 1 module 2: 3 errors on 2 host(s)" in text


def test_query_is_read_only_and_speaks_json_and_csv(small_fleet):
    _tmp, db = small_fleet
    r = run("db", "query", "--db", db, "-f", "json", "SELECT host, count(*) n FROM records GROUP BY host")
    assert json.loads(r.stdout) == [{"host": "alpha", "n": 3}, {"host": "beta", "n": 2}]
    r = run("db", "query", "--db", db, "-f", "csv", "SELECT bdf FROM pcie_errors")
    assert r.stdout == "bdf\n0000:01:00.0\n"
    r = run("db", "query", "--db", db, "DELETE FROM records")
    assert r.exit_code == 2 and "readonly" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert len(table(db, "records")) == 5
    r = run("db", "summary", "--db", str(_tmp / "missing.sqlite"))
    assert r.exit_code == 2 and "no such database" in r.stderr
    ras = str(_tmp / "ras-mc_event.db")          # someone else's SQLite file: one line, not a traceback
    sqlite3.connect(ras).execute("CREATE TABLE mc_event (id INTEGER PRIMARY KEY)").connection.close()
    for args in (["summary", "--db", ras], ["query", "--db", ras, "SELECT 1"]):
        r = run("db", *args)
        assert r.exit_code == 2 and "not an apeitool error database" in r.stderr, r.output
        assert len(r.stderr.strip().splitlines()) == 1


# -- Parquet and Dask ----------------------------------------------------------------------------------------

dask_needed = pytest.importorskip


def _fleet_files(tmp_path, monkeypatch):
    """Files of several kinds, one big enough to be cut into many windows (the window is shrunk)."""
    import apeitool.cper.windows as windows
    monkeypatch.setattr(windows, "WINDOW", 8 << 10)
    recs = [raw for _k, raw in mixed_records(160, seed=11)]
    (tmp_path / "fleet" / "n1").mkdir(parents=True)
    (tmp_path / "fleet" / "n2").mkdir()
    (tmp_path / "fleet" / "n1" / "big.cper").write_bytes(b"".join(recs[:120]))
    (tmp_path / "fleet" / "n2" / "small.cper").write_bytes(b"".join(recs[100:160]))   # 20 repeats
    run("decode", "-f", "jsonl", str(tmp_path / "fleet" / "n2" / "small.cper"), "-o",
        str(tmp_path / "fleet" / "n2" / "again.jsonl"))
    return tmp_path / "fleet"


def test_dask_ingest_on_a_local_cluster_equals_the_single_process_ingest(tmp_path, monkeypatch):
    dask_needed("distributed")
    from apeitool.fleet.dask import DaskEngine
    fleet = _fleet_files(tmp_path, monkeypatch)
    from apeitool.fleet.cli import expand
    paths = list(expand([str(fleet)]))
    one, many = str(tmp_path / "one.sqlite"), str(tmp_path / "many.sqlite")
    a = ingest(one, paths, host_from_dir=True)
    engine = DaskEngine("local", 2)
    try:
        assert len(engine.client.scheduler_info()["workers"]) == 2
        b = ingest(many, paths, host_from_dir=True, engine=engine)
    finally:
        engine.close()
    assert (a.items, a.new_items) == (b.items, b.new_items) == (240, 160)
    c1, c2 = open_db(one, readonly=True), open_db(many, readonly=True)
    assert list(read_tables(c1)) == list(read_tables(c2))


def test_parquet_dataset_and_its_dask_summary_equal_the_database(tmp_path, monkeypatch):
    dask_needed("pyarrow")
    dask_needed("distributed")
    import pyarrow.dataset as ds
    from apeitool.fleet.summary import Filters, sql_summary
    from apeitool.fleet.dask import parquet_summary, decode_frames
    fleet = _fleet_files(tmp_path, monkeypatch)
    out = tmp_path / "pq"
    r = run("decode", "-f", "parquet", "--host-from-dir", str(fleet), "-o", str(out))
    assert r.exit_code == 0, r.output
    assert sorted(os.listdir(out / "records")) == ["n1", "n2"]
    db = str(tmp_path / "e.sqlite")
    run("db", "ingest", "--db", db, "--host-from-dir", str(fleet))
    conn = open_db(db, readonly=True)
    for t, rows in read_tables(conn):
        got = ds.dataset(str(out / t), format="parquet").to_table().to_pylist()
        cols = [c for c in fleet_rows.COLUMNS[t] if c not in ("host", "source", "offset", "item")]
        if t == "records":
            assert len(got) == 240          # Parquet keeps every copy of a repeated record; the database one
        keep = [fleet_rows.COLUMNS[t].index(c) for c in cols]
        assert {tuple(d[c] for c in cols) for d in got} == {tuple(r[i] for i in keep) for r in rows}, t
    for f in (Filters(), Filters(host="n2", window="hour", top=3), Filters(since="2000", until="9999")):
        a = sql_summary(conn, f)
        b = parquet_summary(str(out), f)
        a_records_dedup = a["records"]
        assert b["records"] >= a_records_dedup          # repeats are rows in Parquet
    frames = decode_frames([str(fleet / "n1" / "big.cper")], host="n1")
    assert frames["records"].npartitions > 5
    assert sorted(frames["records"]["key"].compute()) == sorted(
        r[0] for r in conn.execute("SELECT key FROM records WHERE host='n1'"))


def test_parquet_summary_equals_sql_summary_on_the_same_rows(small_fleet):
    dask_needed("pyarrow")
    dask_needed("distributed")
    from apeitool.fleet.summary import Filters, sql_summary
    from apeitool.fleet.dask import parquet_summary
    tmp_path, db = small_fleet
    r = run("decode", "-f", "parquet", "--partition-by", "day", "--host-from-dir", str(tmp_path / "fleet"),
            "-o", str(tmp_path / "pq"))
    assert r.exit_code == 0
    conn = open_db(db, readonly=True)
    for f in (Filters(), Filters(host="beta"), Filters(since="2026-11-02", window="hour", top=1),
              Filters(until="2026-11-02T01:00:00", window="month")):
        assert parquet_summary(str(tmp_path / "pq"), f) == sql_summary(conn, f)


def test_parquet_needs_a_folder_and_leaves_nothing_on_failure(tmp_path):
    dask_needed("pyarrow")
    r = run("decode", "-f", "parquet", str(tmp_path))
    assert r.exit_code == 2 and "-o DIR" in r.output
    bad = tmp_path / "bad.cper"
    bad.write_bytes(b"CPER" + bytes(200))
    r = run("decode", "-f", "parquet", str(bad), "-o", str(tmp_path / "out"))
    assert r.exit_code == 2
    assert os.path.isdir(tmp_path / "out")                  # the other files' (none) dataset, whole
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".parquet-")]


# -- rasdaemon ----------------------------------------------------------------------------------------------

def _replay_to_rasdaemon(db, schema="0.6.8"):
    from apeitool.fleet.rasdaemon import Writer
    from apeitool.replay import replay
    from apeitool.replay.example import SEA, example_hest
    from apeitool.replay.stream import Event
    blocks = [
        {"error_severity": "recoverable", "entries": [{"section_type": "platform_memory", "error_severity": "recoverable",
                                                        "body": {"physical_address": 0x40001000, "memory_error_type": 3,
                                                                 "node": 1, "card": 2}}]},
        {"error_severity": "corrected", "entries": [{"section_type": "pcie", "error_severity": "corrected",
                                                      **pcie(0, 2, 3, 1, cor=1 << 6 | 1)}]},
        {"error_severity": "recoverable", "entries": [{"section_type": "pcie", "error_severity": "recoverable",
                                                        **pcie(0, 2, 3, 1, uncor=1 << 12)}]},
        {"error_severity": "corrected", "entries": [{"section_type": "arm", "error_severity": "corrected",
                                                      "body": {"mpidr": 0x81000100, "error_affinity_level": 1}}]},
        {"error_severity": "corrected", "entries": [{"section_type": "processor_generic", "error_severity": "corrected",
                                                      "body": {"processor_id": 7}}]},
    ]
    for b in blocks:
        for e in b["entries"]:
            e.pop("descriptor", None)
    events = [Event(i * 2.0, "write_notify", 0, 0, SEA, apeitool.build(b, "estatus")) for i, b in enumerate(blocks)]
    w = Writer(db, schema, start=1_764_000_000)
    replay(example_hest(), events, tracer=w)
    w.write()
    return w


def test_replay_writes_rasdaemon_tables_in_its_own_schema(tmp_path):
    db = str(tmp_path / "ras-mc_event.db")
    w = _replay_to_rasdaemon(db)
    assert w.counts() == {"mc_event": 1, "aer_event": 2, "arm_event": 1, "non_standard_event": 1}
    conn = sqlite3.connect(db)
    mc = conn.execute("SELECT err_type, err_msg, label, mc, top_layer, address, driver_detail FROM mc_event").fetchall()
    assert mc == [("Uncorrected", "multi-bit ECC", "unknown memory", 0, -1, 0x40001000, "APEI location: node:1 card:2")]
    aer = conn.execute("SELECT dev_name, err_type, err_msg FROM aer_event ORDER BY id").fetchall()
    # rasdaemon's own words (checked against Debian's rasdaemon in a vm guest): its bit names joined
    # by ", ", and (kernels that pass it) the first 4 dwords of the TLP header log
    tlp = " TLP Header: 00000000 00000000 00000000 00000000"
    assert aer == [("0000:02:03.1", "Corrected", "Receiver Error, Bad TLP"),
                   ("0000:02:03.1", "Uncorrected (Non-Fatal)", "Poisoned TLP" + tlp)]
    assert conn.execute("SELECT mpidr, affinity FROM arm_event").fetchall() == [(0x81000100, 1)]
    sec_type, severity = conn.execute("SELECT sec_type, severity FROM non_standard_event").fetchone()
    from apeitool.guids import SECTION_TYPES
    from apeitool.schemas.cper_fields import guid_str
    assert guid_str(sec_type) == SECTION_TYPES["processor_generic"][0] and severity == "Corrected"
    cols = [r[1] for r in conn.execute("PRAGMA table_info(mce_record)")]
    assert cols[:3] == ["id", "timestamp", "mcgcap"] and len(cols) == 24     # Debian 0.6.8's layout


def test_ingest_of_a_rasdaemon_database(tmp_path):
    ras = str(tmp_path / "ras-mc_event.db")
    _replay_to_rasdaemon(ras, "0.8")
    db = str(tmp_path / "e.sqlite")
    s = ingest(db, [ras], host="node9")
    assert s.new_items == 5 and ingest(db, [ras], host="node9").files[0].status == "skipped"
    secs = {(x["section_type"], x["component"]) for x in table(db, "sections")}
    assert ("pcie", "0000:02:03.1") in secs and ("arm", "arm 0x0000000081000100") in secs
    assert ("platform_memory", "location 0:-1:-1:-1") in secs and ("processor_generic", None) in secs
    assert {x["timestamp"][:4] for x in table(db, "records")} == {"2025"}


def _ras_mc_ctl_usable():
    return (shutil.which("ras-mc-ctl") and shutil.which("unshare") and shutil.which("modprobe")
            and os.geteuid() == 0
            and subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0)


@pytest.mark.skipif(not _ras_mc_ctl_usable(), reason="needs Debian's rasdaemon, kmod, root and unshare "
                                                      "(.ci/run installs them)")
def test_debian_ras_mc_ctl_reads_the_database_replay_wrote(tmp_path):
    """ras-mc-ctl reads the fixed path /var/lib/rasdaemon/ras-mc_event.db: a private mount namespace
    binds the test's folder over /var/lib, so the machine's own files are untouched."""
    (tmp_path / "rasdaemon").mkdir()
    _replay_to_rasdaemon(str(tmp_path / "rasdaemon" / "ras-mc_event.db"))
    p = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind '{tmp_path}' /var/lib && "
                                                     f"ras-mc-ctl --summary && ras-mc-ctl --errors"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "\tUncorrected on DIMM Label(s): 'unknown memory' location: 0:-1:-1:-1 errors: 1" in out
    assert "\t1 Corrected errors: Receiver Error, Bad TLP" in out
    assert "\t1 Uncorrected (Non-Fatal) errors: Poisoned TLP TLP Header: 00000000" in out
    assert "0000:02:03.1 Uncorrected (Non-Fatal) error: Poisoned TLP TLP Header: 00000000" in out
    assert "error(s): multi-bit ECC at unknown memory location: 0:-1:-1:-1, addr 1073745920" in out


def test_urls_are_read_with_fsspec_and_the_python_api(tmp_path):
    dask_needed("fsspec")
    from apeitool import fleet
    f = tmp_path / "r.cper"
    f.write_bytes(record([memory(node=7)], record_id=7))
    db = str(tmp_path / "e.sqlite")
    s = fleet.ingest(db, [f"file://{f}"], host="h")
    assert s.new_items == 1 and s.failed == []
    assert fleet.db_summary(db)["top_components"]["memory"][0]["component"] == "node 7"
    bad = fleet.ingest(db, ["file:///nonexistent/x.cper"])
    assert bad.failed and "x.cper" in bad.failed[0].error


def test_a_missing_extra_names_it(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "pyarrow", None)        # import pyarrow now raises ImportError
    f = tmp_path / "r.cper"
    f.write_bytes(record([memory(node=7)]))
    r = run("decode", "-f", "parquet", str(f), "-o", str(tmp_path / "out"))
    assert r.exit_code == 2 and "pip install 'apeitool[fleet]'" in r.stderr
    monkeypatch.setitem(sys.modules, "distributed", None)
    r = run("db", "ingest", "--db", str(tmp_path / "e.sqlite"), "--engine", "dask", str(f))
    assert r.exit_code == 2 and "pip install 'apeitool[fleet]'" in r.stderr


def test_replay_cli_writes_the_rasdaemon_database_or_says_why_not(tmp_path):
    db = tmp_path / "ras.db"
    r = run("replay", "--example", "-f", "json", "--rasdaemon-db", str(db))
    assert r.exit_code == 0, r.output
    # the example is arm64 (QEMU virt): ghes_edac, so its memory errors are mc_events
    assert json.loads(r.stdout)["rasdaemon"]["events"] == {"mc_event": 8}
    assert sqlite3.connect(db).execute("SELECT count(*) FROM mc_event").fetchone() == (8,)
    r = run("replay", "--example", "--no-ghes-edac", "-f", "json", "--rasdaemon-db", str(db))
    assert json.loads(r.stdout)["rasdaemon"]["events"] == {}
    r = run("replay", "--example", "--rasdaemon-db", str(tmp_path / "no" / "such" / "ras.db"))
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "cannot write the rasdaemon database" in r.stderr and "Traceback" not in r.output
