"""Cold start: whole `apeitool decode` processes (one HEST, one CPER record) against
`python3 -c pass`, in the same run. Prints medians and the ratio.

    python3 bench/cold_start.py [--repeat 20]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from _util import apeitool, machine, run_timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    hest, rec = os.path.join(tmp, "hest.aml"), os.path.join(tmp, "mem.cper")
    subprocess.run(apeitool("build", "hest", "-o", hest), check=True)
    subprocess.run(apeitool("build", "cper", "--memory-error", "--pa", "0x40fa6000", "-o", rec), check=True)
    print(f"machine: {machine()}")
    _b, base = run_timed([sys.executable, "-c", "pass"], args.repeat)
    print(f"python3 -c pass:                 {base * 1000:7.1f} ms (median of {args.repeat})")
    for label, cmd in [("apeitool decode hest.aml", apeitool("decode", hest)),
                       ("apeitool decode -f json hest.aml", apeitool("decode", "-f", "json", hest)),
                       ("apeitool decode mem.cper", apeitool("decode", rec)),
                       ("apeitool decode -f kernel mem.cper", apeitool("decode", "-f", "kernel", rec))]:
        _b, med = run_timed(cmd, args.repeat)
        print(f"{label:33s}{med * 1000:7.1f} ms  = {med / base:4.1f} x python3 -c pass")


if __name__ == "__main__":
    main()
