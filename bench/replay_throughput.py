"""Replay throughput: a long generated packed stream (writes, notifications on 4 GHESv2 sources with
SEA, SCI, GPIO and SDEI, ticks) through the v5.1 and v5.0 models, read from the file as the CLI does.
Prints events/s.

    python3 bench/replay_throughput.py [--events 1000000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _streams import bench_hest_spec, write_packed  # noqa: E402
from _util import apeitool, machine, run_timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    import apeitool as lib
    from apeitool.replay import replay
    from apeitool.replay.stream import StreamStats, read_packed
    tmp = tempfile.mkdtemp()
    stream, hest = os.path.join(tmp, "s.apeirpl"), os.path.join(tmp, "hest.aml")
    n = write_packed(stream, args.events)
    with open(hest, "wb") as f:
        f.write(lib.build(bench_hest_spec(), "hest"))
    model = lib.decode(hest)[0].model
    print(f"machine: {machine()}")
    print(f"stream: {n} events, {os.path.getsize(stream) / 1e6:.1f} MB")
    for kernel in ("v5.1", "v5.0"):
        stats = StreamStats()
        start = time.perf_counter()
        with open(stream, "rb") as f:
            result = replay(model, read_packed(f, stream, stats), kernel, "arm64", keep=1000, stats=stats)
        dt = time.perf_counter() - start
        s = result["summary"]
        print(f"in-process replay --kernel {kernel}: {n / dt:10.0f} events/s  (records_read {s['records_read']}, "
              f"queued {s['queued']}, throttled {s['throttled']}, printed {s['printed']})")
    best, _med = run_timed(apeitool("replay", "--hest", hest, "-f", "json", "--keep", "1000", stream,
                                    "-o", os.devnull))
    print(f"apeitool replay (whole process):  {n / best:10.0f} events/s")


if __name__ == "__main__":
    main()
