"""apeitool vm: boot time and records delivered per second of guest time, per cached kernel.

    python3 bench/vm.py [--records 40] [--kernel 6.1 ...]

Boot: wall seconds from starting QEMU to our /init's first mark, and the guest's own printk time
of that mark. Delivery: N distinct records written to an NMI-notified GHESv2 back to back (write
through /dev/mem, the ack taken back, an NMI raised by the host over the monitor and the serial
handshake), rate = N / guest seconds between the first and the last event mark.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _util import machine  # noqa: E402

import apeitool  # noqa: E402
from apeitool.replay.stream import Event  # noqa: E402
from apeitool.vm import kernels  # noqa: E402
from apeitool.vm.guest import boot  # noqa: E402
from apeitool.vm.plan import add_events, lay_out  # noqa: E402

HEST = {"sources": [{"type": "GHES_V2", "source_id": 2, "error_status_address": {"address": 0x1F000008},
                     "error_status_block_length": 0x1000, "notify": {"type": "NMI"},
                     "read_ack_register": {"address": 0x1F000010}}]}
_TS = re.compile(r"^\[\s*(\d+\.\d+)\] @@APEITOOL (\w+)")


def one(kernel, n: int):
    from apeitool.cli import memory_error_spec
    events = [Event(0.0, "write_notify", 2, notify=4,
                    data=apeitool.build(memory_error_spec(0x100000 + 0x1000 * i, "corrected", True), "estatus"))
              for i in range(n)]
    plan = lay_out(HEST)
    add_events(plan, events)
    start = time.time()
    out = boot(plan, kernel.path, "x86_64", apeitool.build(HEST, "hest"), timeout=600, settle=0.0)
    marks = [(float(m.group(1)), m.group(2)) for m in map(_TS.match, out.lines) if m]
    booted = next(t for t, w in marks if w == "BOOTED")
    ev = [t for t, w in marks if w == "EVENT"]
    return {"status": out.status, "wall": out.seconds, "boot_guest": booted,
            "rate": (len(ev) - 1) / (ev[-1] - ev[0]) if len(ev) > 1 else 0.0, "elapsed": time.time() - start}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=40)
    ap.add_argument("--kernel", action="append", help="series to run (default: every cached one)")
    args = ap.parse_args()
    print(f"machine: {machine()}; load {os.getloadavg()[0]:.2f}")
    print(f"{'kernel':10s} {'status':8s} {'boot (guest s)':>15s} {'whole run (wall s)':>19s} "
          f"{'records/s (guest)':>18s}")
    for k in kernels.cached("x86_64"):
        if args.kernel and k.series not in args.kernel:
            continue
        r = one(k, args.records)
        print(f"{k.version:10s} {r['status']:8s} {r['boot_guest']:15.2f} {r['wall']:19.2f} {r['rate']:18.1f}")


if __name__ == "__main__":
    main()
