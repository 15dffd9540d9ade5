"""The host's rasdaemon (Debian's package) inside the guest: it records the real kernel's RAS trace
events into its own database, which comes back over the console (base64 between two marks). That
database is the oracle for replay --rasdaemon-db: the same events through the real kernel and the
real rasdaemon.

rasdaemon is a dynamic executable: it goes into the initramfs with the libraries ldd names (glibc
runs on every kernel the vm command boots). It needs debugfs and tracefs mounted, and writes
/var/lib/rasdaemon/ras-mc_event.db.
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from typing import Dict, List, Optional, Tuple

from ..errors import InputError

DB = "/var/lib/rasdaemon/ras-mc_event.db"
BEGIN, END = "@@APEITOOL-RASDB-BEGIN", "@@APEITOOL-RASDB-END"
TRACE_BEGIN, TRACE_END = "@@APEITOOL-TRACE-BEGIN", "@@APEITOOL-TRACE-END"


def files() -> Tuple[Dict[str, bytes], List[str]]:
    """(initramfs path -> bytes, directories) for rasdaemon and its libraries."""
    exe = shutil.which("rasdaemon") or ("/usr/sbin/rasdaemon" if os.path.exists("/usr/sbin/rasdaemon") else None)
    if exe is None:
        raise InputError("--rasdaemon-db needs rasdaemon on this machine: install the Debian package rasdaemon")
    try:
        out = subprocess.run(["ldd", exe], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InputError(f"cannot list rasdaemon's libraries (ldd): {e}") from None
    paths = [exe]
    for line in out.splitlines():
        m = re.search(r"(/\S+) \(0x", line)      # "libc.so.6 => /lib/.../libc.so.6 (0x...)" or the loader
        if m:
            paths.append(m.group(1))
    found: Dict[str, bytes] = {}
    dirs = set()
    for p in paths:
        with open(os.path.realpath(p), "rb") as f:
            data = f.read()
        name = "usr/sbin/rasdaemon" if p == exe else p.lstrip("/")
        found[name] = data
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    dirs |= {"var", "var/lib", "var/lib/rasdaemon", "etc", "tmp"}
    return found, sorted(dirs, key=lambda d: (d.count("/"), d))


def start_lines() -> List[str]:
    """Mount what rasdaemon reads, start it recording, wait until it listens (its database exists)."""
    return ["mkdir -p /sys/kernel/debug /sys/kernel/tracing",
            "mount -t debugfs debugfs /sys/kernel/debug; mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null",
            "echo 1 > /sys/kernel/tracing/events/ras/enable; echo 1 > /sys/kernel/tracing/events/mce/enable",
            # rasdaemon polls its trace instance's trace_pipe_raw, which wakes only when the buffer is
            # buffer_percent full (50 by default since v5.1): a few events would wait unread until it
            # stops. The instance is made here first, with 0, before rasdaemon's poll starts.
            "mkdir -p /sys/kernel/tracing/instances/rasdaemon && "
            "{ [ ! -f /sys/kernel/tracing/instances/rasdaemon/buffer_percent ] || "
            "echo 0 > /sys/kernel/tracing/instances/rasdaemon/buffer_percent; }",
            "/usr/sbin/rasdaemon -f -r >/tmp/rasdaemon.log 2>&1 &",
            "n=0; while [ ! -s " + DB + " ] && [ $n -lt 300 ]; do usleep 100000; n=$((n+1)); done",
            "usleep 1500000"]


def stop_lines() -> List[str]:
    """Stop rasdaemon (it closes its database on SIGTERM) and print the database."""
    return ["kill $(pidof rasdaemon) 2>/dev/null; n=0; while pidof rasdaemon >/dev/null && [ $n -lt 100 ]; do "
            "usleep 100000; n=$((n+1)); done",
            f"echo {BEGIN}; base64 {DB}; echo {END}",
            "echo @@APEITOOL-RASLOG-BEGIN; cat /tmp/rasdaemon.log; echo @@APEITOOL-RASLOG-END",
            f"echo {TRACE_BEGIN}; cat /sys/kernel/tracing/trace; echo {TRACE_END}"]


def section(lines: List[str], begin: str, end: str) -> Optional[List[str]]:
    """The console lines the guest printed between two marks of its own, or None."""
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() == begin)
        stop = next(i for i in range(start, len(lines)) if lines[i].strip() == end)
    except StopIteration:
        return None
    return lines[start + 1:stop]


def trace_events(lines: List[str]):
    """The kernel's RAS trace events the guest printed (replay.trace.parse of its trace file)."""
    from ..replay.trace import parse
    return parse(section(lines, TRACE_BEGIN, TRACE_END) or [])


def database(lines: List[str]) -> Optional[bytes]:
    """The database printed between the marks, or None if it did not come."""
    body = section(lines, BEGIN, END)
    if body is None:
        return None
    text = "".join(l.strip() for l in body if re.fullmatch(r"[A-Za-z0-9+/=]+", l.strip()))
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None
