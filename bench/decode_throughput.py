"""Mixed CPER -> JSON throughput: a corpus built with apeitool's own builder (every section type),
decoded in one process, then by the CLI with --jobs 1 and 2. Prints records/s and MB/s.

    python3 bench/decode_throughput.py [--records 100000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _util import apeitool, machine, run_timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--distinct", type=int, default=2000, help="distinct records, repeated to --records")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from apeitool.bulk import decode_window
    from apeitool.gen import mixed_records
    from apeitool.schemas.sections import BODIES
    records = mixed_records(args.distinct)
    types = {k for k, _r in records}
    assert types == set(BODIES), "every section type is in the corpus"
    blob = b"".join(r for _k, r in records)
    reps, rest = divmod(args.records, args.distinct)
    with tempfile.NamedTemporaryFile(suffix=".cper", delete=False) as f:
        for _ in range(reps):
            f.write(blob)
        f.write(b"".join(r for _k, r in records[:rest]))
        path = f.name
    size = os.path.getsize(path)
    print(f"machine: {machine()}")
    print(f"corpus: {args.records} records ({args.distinct} distinct, {len(types)} section types), "
          f"{size / 1e6:.1f} MB")
    with open(path, "rb") as fh:
        data = fh.read()
    best = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        text, _w, n, err = decode_window((data, "record", path, 0, 0))
        dt = time.perf_counter() - start
        assert err is None and n == args.records
        best = dt if best is None else min(best, dt)
    print(f"in-process decode + JSON:   {args.records / best:10.0f} records/s  {size / best / 1e6:6.1f} MB/s")
    for jobs in (1, 2):
        t, med = run_timed(apeitool("decode", "-f", "jsonl", "--jobs", str(jobs), path, "-o", os.devnull),
                           args.repeat)
        print(f"apeitool decode -f jsonl --jobs {jobs}: {args.records / t:10.0f} records/s  "
              f"{size / t / 1e6:6.1f} MB/s  (best of {args.repeat}; median {args.records / med:.0f}/s)")
    os.unlink(path)


if __name__ == "__main__":
    main()
