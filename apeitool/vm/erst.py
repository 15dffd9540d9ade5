"""`apeitool vm --erst`: QEMU's acpi-erst device, what the kernel makes of it, and a record that
survives a reboot.

Boot 1 with an ERST backed by a file: the kernel's ERST and pstore lines, QEMU's ERST table as the
guest sees it (dumped in hex through the console, decoded and validated here), then a panic
(sysrq c) that pstore writes through the ERST. Boot 2 with the same backing file: pstore's files,
the kernel's record of boot 1's panic.
"""
from __future__ import annotations

import os
import re
import tempfile
from typing import Dict, Optional

from .guest import MARK, boot
from .plan import Plan

BACKING_SIZE = 0x10000


def _init(second: bool) -> str:
    lines = ["#!/bin/busybox sh", "/bin/busybox --install -s /bin",
             "mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev",
             f'echo "{MARK} BOOTED" > /dev/kmsg']
    if not second:
        lines += [f'od -An -tx1 -v /sys/firmware/acpi/tables/ERST | while read -r l; do echo "{MARK} ERST $l"; done',
                  f'echo "{MARK} PANIC" > /dev/kmsg', "echo c > /proc/sysrq-trigger", "sleep 5"]
    else:
        lines += ["mkdir -p /pstore; mount -t pstore pstore /pstore 2>/dev/null",
                  f'for f in /pstore/*; do [ -e "$f" ] && echo "{MARK} PSTORE $(basename $f) $(wc -c < $f)"; done',
                  f'for f in /pstore/dmesg-erst-*; do [ -e "$f" ] && grep -m3 -a "Kernel panic\\|sysrq" $f | '
                  f'while read -r l; do echo "{MARK} PSTORE-LINE $l"; done; done']
    lines += [f'echo "{MARK} DONE" > /dev/kmsg', "poweroff -f"]
    return "\n".join(lines) + "\n"


def run(kernel, timeout: float = 180, console: Optional[str] = None, backing: Optional[str] = None) -> Dict:
    import apeitool
    from . import _booted_version, split_console
    from ..validate import validate_bytes
    work = tempfile.mkdtemp(prefix="apeitool-erst-")
    path = backing or os.path.join(work, "erst.backing")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.truncate(BACKING_SIZE)
    args = ["-object", f"memory-backend-file,id=erst,mem-path={path},size={BACKING_SIZE:#x},share=on",
            "-device", "acpi-erst,memdev=erst"]
    plan = Plan({}, (0x1F000000, 0x1F001000), bytes(0x1000), 512 << 20)
    first = boot(plan, kernel.path, "x86_64", None, timeout=timeout, extra_args=args, init=_init(False),
                 console=console)
    second = boot(plan, kernel.path, "x86_64", None, timeout=timeout, extra_args=args, init=_init(True))
    table = bytes(int(b, 16) for l in first.lines for m in [re.search(MARK + r" ERST (.*)$", l)] if m
                  for b in m.group(1).split())
    findings = []
    decoded = None
    if table:
        try:
            [d] = apeitool.decode_bytes(table, "QEMU ERST")
            decoded = {"entries": len(d.model.get("entries", [])), "warnings": [w.one_line() for w in d.warnings]}
            findings = [f.as_dict() for f in validate_bytes(table, "QEMU ERST")]
        except apeitool.errors.ApeiError as e:
            decoded = {"error": e.one_line()}
    one, two = split_console(first.lines), split_console(second.lines)
    kernel_lines = [l for l in one["boot"] if "ERST" in l or "pstore" in l]
    pstore = [m.group(1) for l in second.lines for m in [re.search(MARK + r" PSTORE (.*)$", l)] if m]
    pstore_lines = [m.group(1) for l in second.lines for m in [re.search(MARK + r" PSTORE-LINE (.*)$", l)] if m]
    if not backing:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return {"kernel": dict(kernel.as_dict(), booted=_booted_version(first.lines)),
            "status": "ok" if first.panicked and second.status == "ok" else first.status,
            "panicked": first.panicked, "seconds": round(first.seconds + second.seconds, 2),
            "boot": kernel_lines, "log": kernel_lines, "events": [],
            "erst_table": {"length": len(table), "hex": table.hex(), "decoded": decoded, "findings": findings},
            "pstore_after_reboot": pstore, "pstore_panic_lines": pstore_lines, "second_boot": [l for l in two["boot"] if "ERST" in l or "pstore" in l],
            "undelivered": [], "dropped": one["dropped"]}
