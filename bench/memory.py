"""Peak RSS while decoding, validating, diffing and replaying a big input (default 1 GB) as whole
processes: `apeitool decode` of a file of CPER records in every output format, `validate` and
`diff` of it, and `apeitool replay` of a packed event stream.

    python3 bench/memory.py [--size-mb 1024] [--dir /tmp] [--only jsonl,json,...]
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
    ap.add_argument("--only", default="", help="comma-separated labels to run (default: all)")
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
    runs = [("jsonl", cper, apeitool("decode", "-f", "jsonl", cper, "-o", os.devnull)),
            ("jsonl --jobs 2", cper, apeitool("decode", "-f", "jsonl", "--jobs", "2", cper, "-o", os.devnull))]
    runs += [(fmt, cper, apeitool("decode", "-q", "-f", fmt, cper, "-o", os.devnull))
             for fmt in ("json", "yaml", "kernel", "libcper", "text")]
    runs += [("libcper --jobs 2", cper, apeitool("decode", "-q", "-f", "libcper", "--jobs", "2", cper, "-o", os.devnull)),
             ("validate", cper, apeitool("validate", "-f", "json", cper, "-o", os.devnull)),
             ("diff", cper, apeitool("diff", "--stat", cper, cper, "-o", os.devnull)),
             ("replay", stream, apeitool("replay", "--hest", hest, "-f", "json", "--keep", "1000", stream,
                                         "-o", os.devnull))]
    only = set(filter(None, args.only.split(",")))
    for label, path, cmd in runs:
        if only and label not in only:
            continue
        start = time.perf_counter()
        rss = peak_rss_mb(cmd, ok=(0, 1))
        dt = time.perf_counter() - start
        print(f"apeitool {label:20s} {os.path.getsize(path) / 2**20:7.0f} MiB input: peak RSS {rss:6.1f} MiB "
              f"({dt:.0f} s)")
    for p in (cper, stream, hest):
        os.unlink(p)


if __name__ == "__main__":
    main()
