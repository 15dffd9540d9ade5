"""One QEMU guest run: the command line, the guest's script, the console, the monitor.

The guest (busybox and our /init) plays the firmware: it writes each record into its status
block through /dev/mem (the window is reserved E820 memory, which /dev/mem allows), takes a
GHESv2 acknowledgement back as QEMU does, and marks every event in the kernel log through
/dev/kmsg, so the console interleaves our marks with the kernel's own lines in the order the
kernel logged them. Notifications the guest cannot raise itself (NMI) it asks the host for on its
console and waits on a second serial port until the host has raised them through QEMU's monitor.
QEMU runs in its own process group, killed on timeout, error, SIGINT or SIGTERM.
"""
from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..errors import InputError
from .plan import NMI, Plan

MARK = "@@APEITOOL"
PACKAGES = {"qemu-system-x86_64": "qemu-system-x86", "qemu-system-aarch64": "qemu-system-arm"}
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def qemu_binary(arch: str) -> str:
    name = "qemu-system-x86_64" if arch == "x86_64" else "qemu-system-aarch64"
    path = shutil.which(name)
    if path is None:
        raise InputError(f"{name} is not installed: install the Debian package {PACKAGES[name]}")
    return path


def guest_script(plan: Plan, settle: float, rasdaemon: bool = False) -> str:
    """The busybox /init: mount, mark, run the steps, ask for the final read-out, power off. With
    `rasdaemon`, the real rasdaemon records the run and its database is printed at the end."""
    lines = ["#!/bin/busybox sh", "/bin/busybox --install -s /bin",
             "mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev",
             f'mark() {{ echo "{MARK} $*" > /dev/kmsg; }}',
             # the host's answer port is opened once, before any question: bytes that reach a
             # closed serial port are lost
             "stty -F /dev/ttyS1 raw -echo 2>/dev/null; exec 3</dev/ttyS1",
             'ask() { mark "$@"; read -r reply <&3; }']
    if rasdaemon:
        from .rasdaemon import start_lines
        lines += start_lines()
    lines.append("mark BOOTED")
    for step in plan.steps:
        k, kind = step[0], step[1]
        if kind == "mark":
            gap = step[2]
            if gap > 0:
                lines.append(f"usleep {int(gap * 1e6)}")
            lines.append(f"mark EVENT {k}")
        elif kind == "write":
            src, name, n = step[2], step[3], step[4]
            if n > 4:   # the body first, block_status last: a poll never sees half a record
                lines.append(f"dd if=/{name} of=/dev/mem bs=1 skip=4 seek={src.block + 4} conv=notrunc 2>/dev/null")
            lines.append(f"dd if=/{name} of=/dev/mem bs=1 count={min(n, 4)} seek={src.block} conv=notrunc "
                         f"2>/dev/null")
            if src.ack_reg is not None:   # take the acknowledgement back, as QEMU does
                bits = src.ack_size * 8
                lines.append(f"v=$(devmem {src.ack_reg:#x} {bits}); devmem {src.ack_reg:#x} {bits} "
                             f"$(( v & ~{src.ack_mask:#x} ))")
        elif kind == "notify" and step[2] == NMI:
            lines.append(f"ask NMI {k}")
            lines.append("usleep 300000")    # irq_work prints after the NMI returns
    lines.append(f"usleep {int(settle * 1e6)}")
    if rasdaemon:
        from .rasdaemon import stop_lines
        lines += stop_lines()
    lines.append("ask FINAL")
    lines.append("mark DONE")
    lines.append("poweroff -f")
    return "\n".join(lines) + "\n"


@dataclass
class Outcome:
    lines: List[str] = field(default_factory=list)       # the console, escapes removed
    status: str = "ok"                                   # ok | timeout | panic | qemu-error
    panicked: bool = False
    final: Dict[str, int] = field(default_factory=dict)  # "0x1F001000" -> value read at the end
    seconds: float = 0.0
    exit_code: Optional[int] = None
    rasdaemon_db: Optional[bytes] = None                 # what rasdaemon recorded in the guest


class _Monitor:
    """QEMU's human monitor on a unix socket: one command, its answer up to the next prompt."""

    def __init__(self, path: str, deadline: float):
        self.sock = _connect(path, deadline)
        self._until_prompt(deadline)

    def _until_prompt(self, deadline: float) -> str:
        buf = b""
        while not buf.endswith(b"(qemu) "):
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("QEMU monitor did not answer")
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("QEMU monitor closed")
            buf += chunk
        return _ESCAPES.sub("", buf.decode("latin-1"))

    def command(self, text: str, deadline: float) -> str:
        self.sock.sendall(text.encode() + b"\n")
        return self._until_prompt(deadline)


def _connect(path: str, deadline: float) -> socket.socket:
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise TimeoutError(f"QEMU did not open {path}")
            time.sleep(0.05)


def read_u64(monitor: _Monitor, addr: int, size: int, deadline: float) -> Optional[int]:
    unit = {1: "b", 2: "h", 4: "w", 8: "g"}.get(size, "g")
    out = monitor.command(f"xp /1x{unit} {addr:#x}", deadline)
    m = re.search(r":\s*0x([0-9a-fA-F]+)", out)
    return int(m.group(1), 16) if m else None


def boot(plan: Plan, kernel_path: str, arch: str, hest: Optional[bytes] = None, extra_tables=(),
         loaders=(), append: str = "", timeout: float = 120.0, console: Optional[str] = None,
         settle: float = 0.5, extra_args=(), init: Optional[str] = None, rasdaemon: bool = False) -> Outcome:
    """Boot `kernel_path` with the tables, the window preloaded and the guest script (or `init`);
    drive it. `extra_args` go to QEMU as they are (devices such as acpi-erst). `rasdaemon`: the
    host's rasdaemon records in the guest (vm/rasdaemon.py)."""
    from .initramfs import build
    qemu = qemu_binary(arch)
    work = tempfile.mkdtemp(prefix="apeitool-vm-")
    out = Outcome()
    proc = None
    old = {}
    try:
        files = {}
        if hest is not None:
            files["hest.aml"] = hest
        for name, data in extra_tables:
            files[name] = data
        for name, data in files.items():
            with open(os.path.join(work, name), "wb") as f:
                f.write(data)
        with open(os.path.join(work, "window.bin"), "wb") as f:
            f.write(plan.image)
        blobs, dirs = dict(plan.blobs), []
        if rasdaemon:
            from .rasdaemon import files as rasdaemon_files
            programs, dirs = rasdaemon_files()
            blobs.update(programs)
        with open(os.path.join(work, "initrd.cpio"), "wb") as f:
            f.write(build(init or guest_script(plan, settle, rasdaemon), blobs, extra_dirs=dirs))
        mon, ctl = os.path.join(work, "mon.sock"), os.path.join(work, "ctl.sock")
        cmd = [qemu, "-accel", "tcg", "-M", "pc", "-cpu", "qemu64", "-m", f"{plan.ram >> 20}M", "-smp", "1",
               "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio",
               "-serial", f"unix:{ctl},server=on,wait=off", "-monitor", f"unix:{mon},server=on,wait=off",
               "-kernel", kernel_path, "-initrd", os.path.join(work, "initrd.cpio")]
        for name in files:
            cmd += ["-acpitable", f"file={os.path.join(work, name)}"]
        cmd += ["-device", f"loader,file={os.path.join(work, 'window.bin')},addr={plan.window[0]:#x},force-raw=on"]
        for addr, data in loaders:
            path = os.path.join(work, f"blob-{addr:x}.bin")
            with open(path, "wb") as f:
                f.write(data)
            cmd += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
        cmd += list(extra_args)
        cmd += ["-append", f"console=ttyS0,115200 loglevel=8 nokaslr panic=-1 ghes.disable=0 "
                           f"{plan.append} {append}".strip()]

        def stop(signum, _frame):
            raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, stop)
        start = time.time()
        deadline = start + timeout
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        monitor = control = None
        buf = b""
        while True:
            left = deadline - time.time()
            if left <= 0:
                out.status = "timeout"
                break
            r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
            if not r:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = _ESCAPES.sub("", raw.decode("utf-8", "replace"))
                out.lines.append(line)
                if "Kernel panic - not syncing" in line and MARK not in line:   # not a quoted pstore line
                    out.panicked = True
                m = re.search(MARK + r" (NMI \d+|FINAL)$", line)
                if not m:
                    continue
                if monitor is None:
                    monitor = _Monitor(mon, deadline)
                    control = _connect(ctl, deadline)
                if m.group(1).startswith("NMI"):
                    monitor.command("nmi", deadline)
                else:
                    for sid, src in plan.sources.items():
                        out.final[f"{src.block:#x}"] = read_u64(monitor, src.block, 4, deadline)
                        if src.ack_reg is not None:
                            out.final[f"{src.ack_reg:#x}"] = read_u64(monitor, src.ack_reg, src.ack_size, deadline)
                control.sendall(b"go\n")
        if buf:
            out.lines.append(_ESCAPES.sub("", buf.decode("utf-8", "replace")))
        out.seconds = time.time() - start
        if out.status == "ok":
            try:
                out.exit_code = proc.wait(5)
            except subprocess.TimeoutExpired:
                out.status = "timeout"
        if rasdaemon:
            from .rasdaemon import database
            out.rasdaemon_db = database(out.lines)
        if out.status == "ok" and out.panicked:
            out.status = "panic"
        elif out.status == "ok" and not any(f"{MARK} DONE" in l for l in out.lines):
            out.status = "qemu-error" if out.exit_code else "no-finish"
    finally:
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if console:
            from ..fileio import write_output
            write_output(console, "\n".join(out.lines) + "\n")
        shutil.rmtree(work, ignore_errors=True)
    return out
