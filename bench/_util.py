"""Shared by the benchmark scripts: timing a command, its peak RSS, the machine line."""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time

# the same interpreter as the baseline, never a shim on PATH (a pyenv shim costs ~9x by itself)
APEITOOL = f"{sys.executable} -m apeitool"


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.machine()}, {cpus} cpu(s), Python {platform.python_version()}, {platform.platform()}"


def run_timed(cmd, repeat: int = 1):
    """Best and median wall time of `cmd` (a list) over `repeat` runs, output discarded."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def cpu_timed(cmd, repeat: int = 1):
    """Median CPU seconds (user + system, the process and the children it waited for) and median
    wall seconds of `cmd` over `repeat` runs, output discarded."""
    import resource
    cpu, wall = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(cpu), statistics.median(wall)


def load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def peak_rss_mb(cmd, ok=(0,)) -> float:
    """Peak resident set size of `cmd` (a fresh parent, so only that child counts); an exit status
    outside `ok` is an error (validate and diff exit 1 when they find something)."""
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True)
    code, rss = out.stdout.split()
    if int(code) not in ok:
        raise SystemExit(f"{' '.join(cmd)}: exit status {code}")
    return int(rss) / 1024.0


def apeitool(*args):
    return APEITOOL.split() + list(args)
