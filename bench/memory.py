"""Peak RSS while decoding and replaying a big stream (default 1 GB): `apeitool decode -f jsonl` of a
file of CPER records, and `apeitool replay` of a packed event stream, as whole processes.

    python3 bench/memory.py [--size-mb 1024] [--dir /tmp]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _streams import bench_hest_spec, write_packed  # noqa: E402
from _util import apeitool, machine, peak_rss_mb  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    import apeitool as lib
    from apeitool.gen import mixed_records
    tmp = tempfile.mkdtemp(dir=args.dir)
    target = args.size_mb << 20
    cper, stream, hest = (os.path.join(tmp, n) for n in ("big.cper", "big.apeirpl", "hest.aml"))
    blob = b"".join(r for _k, r in mixed_records(2000))
    with open(cper, "wb") as f:
        while f.tell() < target:
            f.write(blob)
    per_event = 112                         # bytes per packed event of the generated mix (measured)
    write_packed(stream, target // per_event)
    with open(hest, "wb") as f:
        f.write(lib.build(bench_hest_spec(), "hest"))
    print(f"machine: {machine()}")
    for label, path, cmd in [
            ("decode -f jsonl", cper, apeitool("decode", "-f", "jsonl", cper, "-o", os.devnull)),
            ("decode -f jsonl --jobs 2", cper, apeitool("decode", "-f", "jsonl", "--jobs", "2", cper, "-o", os.devnull)),
            ("replay", stream, apeitool("replay", "--hest", hest, "-f", "json", "--keep", "1000", stream,
                                        "-o", os.devnull))]:
        start = time.perf_counter()
        rss = peak_rss_mb(cmd)
        dt = time.perf_counter() - start
        print(f"apeitool {label:25s} {os.path.getsize(path) / 2**20:7.0f} MiB input: peak RSS {rss:6.1f} MiB "
              f"({dt:.0f} s)")
    for p in (cper, stream, hest):
        os.unlink(p)


if __name__ == "__main__":
    main()
