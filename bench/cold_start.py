"""Cold start: CPU time of whole `apeitool decode` processes (one HEST, one CPER record) against
`python3 -c pass`, the same interpreter in the same run (never a shim on PATH). Prints medians and
the ratio.

    python3 bench/cold_start.py [--repeat 30]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _util import apeitool, cpu_timed, load, machine  # noqa: E402

GOALS = {"text": 6.0, "json": 4.0, "kernel": 4.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    hest, rec = os.path.join(tmp, "hest.aml"), os.path.join(tmp, "mem.cper")
    subprocess.run(apeitool("build", "hest", "-o", hest), check=True)
    subprocess.run(apeitool("build", "cper", "--memory-error", "--pa", "0x40fa6000", "-o", rec), check=True)
    print(f"machine: {machine()}; {load()}")
    print(f"interpreter: {sys.executable}")
    base, _w = cpu_timed([sys.executable, "-c", "pass"], args.repeat)
    print(f"python3 -c pass:                      {base * 1000:7.1f} ms CPU (median of {args.repeat})")
    for label, fmt, cmd in [("decode hest.aml (text tree)", "text", apeitool("decode", hest)),
                            ("decode -f json hest.aml", "json", apeitool("decode", "-f", "json", hest)),
                            ("decode mem.cper (text tree)", "text", apeitool("decode", rec)),
                            ("decode -f json mem.cper", "json", apeitool("decode", "-f", "json", rec)),
                            ("decode -f kernel mem.cper", "kernel", apeitool("decode", "-f", "kernel", rec))]:
        t, _w = cpu_timed(cmd, args.repeat)
        print(f"apeitool {label:28s}{t * 1000:7.1f} ms CPU = {t / base:4.1f} x  (goal <= {GOALS[fmt]:.0f} x)")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
