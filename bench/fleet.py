"""Fleet figures: SQLite ingest rate vs decode -f jsonl (CPU of whole processes), Dask LocalCluster
1 vs 2 workers (wall clock, same input), summary time on a database of N section rows, and ingest
peak RSS at two input sizes (flat = the same). Usage: python3 bench/fleet.py [--records N]
[--summary-rows N]"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _util import cpu_timed, load, machine  # noqa: E402

PY = sys.executable


def records_file(path: str, n: int) -> None:
    from apeitool.gen import mixed_records
    base = [raw for _k, raw in mixed_records(2000, seed=5)]
    with open(path, "wb") as f:
        for i in range(n):        # distinct records: the record id field differs per copy
            raw = bytearray(base[i % len(base)])
            raw[96:104] = i.to_bytes(8, "little")
            f.write(raw)


def dask_wall(paths, db, workers: int) -> float:
    """db ingest --engine dask: the workers decode, the client writes SQLite."""
    from apeitool.fleet.dask import DaskEngine
    from apeitool.fleet.db import ingest
    engine = DaskEngine("local", workers)
    try:
        t = time.perf_counter()
        ingest(db, paths, engine=engine)
        return time.perf_counter() - t
    finally:
        engine.close()


def dask_frames_wall(paths, workers: int) -> float:
    """apeitool.fleet.decode_frames computed on the cluster (no single writer in the way)."""
    from apeitool.fleet.dask import connect, decode_frames
    client, cluster = connect("local", workers)
    try:
        t = time.perf_counter()
        frames = decode_frames(paths)
        n = frames["sections"].map_partitions(len).sum().compute()
        assert n > 0
        return time.perf_counter() - t
    finally:
        client.close()
        cluster.close()


def synthetic_db(path: str, rows: int) -> None:
    """A database with `rows` section rows (and records) of plausible shape, written by SQL."""
    from apeitool.fleet.db import open_db
    conn = open_db(path)
    conn.execute("BEGIN")
    conn.execute(f"""INSERT INTO records (key, host, source, form, timestamp, day, severity, section_count)
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {rows - 1})
        SELECT printf('%032x', i), 'host' || (i % 5000), 'f', 'record',
               strftime('%Y-%m-%dT%H:%M:%S', 1764000000 + i * 3, 'unixepoch'),
               strftime('%Y-%m-%d', 1764000000 + i * 3, 'unixepoch'),
               CASE i % 4 WHEN 0 THEN 'recoverable' WHEN 1 THEN 'fatal' ELSE 'corrected' END, 1 FROM n""")
    conn.execute("""INSERT INTO sections (key, idx, host, timestamp, day, section_type, severity,
                     component_kind, component)
        SELECT key, 0, host, timestamp, day, CASE abs(random()) % 3 WHEN 0 THEN 'platform_memory'
               WHEN 1 THEN 'pcie' ELSE 'arm' END, severity, 'memory',
               'node ' || (abs(random()) % 8) || ' card ' || (abs(random()) % 4) || ' module ' ||
               (abs(random()) % 16) || ' ' || host FROM records""")
    conn.execute("COMMIT")
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=40000)
    ap.add_argument("--summary-rows", type=int, default=10_000_000)
    a = ap.parse_args()
    print(machine(), "|", load())
    tmp = tempfile.mkdtemp(prefix="apeitool-fleet-bench-")
    small, big = os.path.join(tmp, "a.cper"), os.path.join(tmp, "b.cper")
    records_file(small, a.records)
    records_file(big, a.records * 4)
    print(f"input: {a.records} records, {os.path.getsize(small) >> 20} MiB")

    ingest_cpu = cpu_timed([PY, "-m", "apeitool", "db", "ingest", "-q", "--db", os.path.join(tmp, "i.sqlite"),
                            small], repeat=1)[0]
    jsonl_cpu = cpu_timed([PY, "-m", "apeitool", "decode", "-f", "jsonl", small, "-o", os.path.join(tmp, "o.jsonl")],
                          repeat=3)[0]
    print(f"db ingest (SQLite): {a.records / ingest_cpu:,.0f} records/CPU-s; decode -f jsonl: "
          f"{a.records / jsonl_cpu:,.0f} records/CPU-s; ratio {jsonl_cpu / ingest_cpu:.2f}")

    for path, n in ((small, a.records), (big, 4 * a.records)):
        import subprocess
        db = os.path.join(tmp, f"rss-{n}.sqlite")
        p = subprocess.run([PY, "-c", "import resource, sys; from apeitool.fleet.db import ingest; "
                            f"ingest({db!r}, [{path!r}]); "
                            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                           capture_output=True, text=True, check=True)
        print(f"ingest peak RSS, {n} records ({os.path.getsize(path) >> 20} MiB): {int(p.stdout) >> 10} MiB")

    parts = []
    for i in range(8):            # 8 files: tasks for both workers from the start
        pth = os.path.join(tmp, f"d{i}.cper")
        records_file(pth, a.records // 2)
        parts.append(pth)
    w1 = min(dask_wall(parts, os.path.join(tmp, f"w1-{r}.sqlite"), 1) for r in range(2))
    w2 = min(dask_wall(parts, os.path.join(tmp, f"w2-{r}.sqlite"), 2) for r in range(2))
    print(f"db ingest --engine dask, {4 * a.records} records in 8 files: 1 worker {w1:.1f} s, 2 workers {w2:.1f} s,"
          f" scaling {w1 / w2:.2f}x (the client's SQLite writer is the bound)")
    f1 = min(dask_frames_wall(parts, 1) for _ in range(2))
    f2 = min(dask_frames_wall(parts, 2) for _ in range(2))
    print(f"decode_frames on Dask, same input: 1 worker {f1:.1f} s, 2 workers {f2:.1f} s, scaling {f1 / f2:.2f}x")
    tiny = []
    for i in range(200):
        pth = os.path.join(tmp, f"t{i}.cper")
        records_file(pth, 1)
        tiny.append(pth)
    t1 = min(dask_frames_wall(tiny, 1) for _ in range(2))
    print(f"per-task overhead: 200 one-record files on 1 worker {t1:.2f} s = {1000 * t1 / 200:.1f} ms per task")
    db = os.path.join(tmp, "summary.sqlite")
    t = time.perf_counter()
    synthetic_db(db, a.summary_rows)
    print(f"synthetic database of {a.summary_rows:,} records + sections built in {time.perf_counter() - t:.0f} s "
          f"({os.path.getsize(db) >> 20} MiB)")
    from apeitool.fleet.summary import Filters, sql_summary
    conn = sqlite3.connect(db)
    for f in (Filters(), Filters(host="host17"), Filters(since="2025-11-30")):
        t = time.perf_counter()
        s = sql_summary(conn, f)
        print(f"summary ({', '.join(k + '=' + str(v) for k, v in vars(f).items() if v and k in ('host', 'since')) or 'all'}):"
              f" {time.perf_counter() - t:.2f} s, {s['records']:,} records")
    print(load())
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
