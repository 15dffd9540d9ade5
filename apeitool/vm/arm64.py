"""arm64 guests: QEMU's virt machine with UEFI, our tables through the kernel's ACPI table upgrade.

-acpitable does not exist for arm, and ACPI reaches an arm64 kernel only through UEFI; so the HEST
goes in as an initrd table upgrade (kernel/firmware/acpi/*.aml in an uncompressed cpio before the
initramfs). memmap= does not exist on arm64 either: the GHES registers and status blocks live in
a second upgrade table of ours (a "carrier", signature SLIC, which no arm64 code reads), which the
kernel copies into memory it reserves. Its address is fixed per kernel build and memory size: a
first, short boot finds it (cached beside the kernel), then the HEST points into it.

What can be delivered: the record pending in each source's block when the kernel boots (ghes_probe
handles it at once). Writes after boot would go into the carrier's RAM, which /dev/mem refuses
(STRICT_DEVMEM), so later events of a source are reported as undelivered. GHESv2 is refused: the
kernel maps the carrier read-only and its read-ack write faults. Registers sit 8-byte aligned: an
unaligned 64-bit read of the ioremapped register is an alignment fault on arm64.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Dict, List, Optional

from ..errors import InputError
from .initramfs import newc

FIRMWARE = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"
CARRIER_SIG = b"SLIC"
RAM = "1G"
HEADER = 36


def _table(sig: bytes, oem_table: bytes, body: bytes) -> bytes:
    """An ACPI table of our own around `body`: the project's SDT header, its checksum right."""
    from ..model import build_fixed
    from ..schemas.header import HEADER_DEFAULTS, SdtHeader, checksum_byte
    header = dict(HEADER_DEFAULTS, signature=sig.decode(), oem_table_id=oem_table.decode(),
                  length=HEADER + len(body), checksum=0)
    t = bytearray(build_fixed(SdtHeader, header, "header") + body)
    t[9] = checksum_byte(bytes(t))
    return bytes(t)


def _upgrade_cpio(tables: Dict[str, bytes]) -> bytes:
    files = {f"kernel/firmware/acpi/{name}": data for name, data in tables.items()}
    return newc(files, ["kernel", "kernel/firmware", "kernel/firmware/acpi"])


def _boot(kernel_path: str, initrd: bytes, timeout: float, console: Optional[str] = None) -> List[str]:
    qemu = shutil.which("qemu-system-aarch64")
    if qemu is None:
        raise InputError("qemu-system-aarch64 is not installed: install the Debian package qemu-system-arm")
    if not os.path.isfile(FIRMWARE):
        raise InputError(f"{FIRMWARE} is missing: install the Debian package qemu-efi-aarch64")
    work = tempfile.mkdtemp(prefix="apeitool-vm-")
    proc = None
    lines: List[str] = []
    try:
        path = os.path.join(work, "initrd")
        with open(path, "wb") as f:
            f.write(initrd)
        cmd = [qemu, "-accel", "tcg", "-M", "virt", "-cpu", "cortex-a57", "-m", RAM, "-smp", "1", "-nographic",
               "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none", "-bios", FIRMWARE,
               "-kernel", kernel_path, "-initrd", path,
               "-append", "console=ttyAMA0 acpi=force earlycon loglevel=8 nokaslr panic=-1"]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            lines = _lines(out)
            raise InputError(f"the arm64 guest did not finish in {timeout:.0f} s")
        lines = _lines(out)
        return lines
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if console:
            from ..fileio import write_output
            write_output(console, "\n".join(lines) + "\n")
        shutil.rmtree(work, ignore_errors=True)


def _lines(out: bytes) -> List[str]:
    from .guest import _ESCAPES
    return [_ESCAPES.sub("", l) for l in out.decode("utf-8", "replace").split("\n")]


def _init(settle: float) -> str:
    from .guest import MARK
    return ("#!/bin/busybox sh\n/bin/busybox --install -s /bin\n"
            "mount -t proc proc /proc; mount -t devtmpfs dev /dev\n"
            f'echo "{MARK} BOOTED" > /dev/kmsg\nusleep {int(settle * 1e6)}\n'
            f'echo "{MARK} DONE" > /dev/kmsg\npoweroff -f\n')


def carrier_base(kernel, busybox: bytes, size: int, hest: bytes, timeout: float = 120) -> int:
    """Where this kernel puts the carrier table (the first upgrade table): one short boot, cached.
    The kernel allocates one region for all upgrade tables from the top of memory, so the address
    depends on their total size: the HEST goes along (same length as the real one)."""
    cache = os.path.join(os.path.dirname(kernel.path), "carrier.json")
    known = {}
    if os.path.isfile(cache):
        with open(cache) as f:
            known = json.load(f)
    key = f"{RAM}/{size}/{len(hest)}"
    if key in known:
        return known[key]
    initrd = _upgrade_cpio({"0carrier.aml": _table(CARRIER_SIG, b"CARRIER", bytes(size - HEADER)),
                            "hest.aml": hest}) + \
        newc({"bin/busybox": busybox, "init": _init(0)}, ["bin", "dev", "proc", "sys"])
    lines = _boot(kernel.path, initrd, timeout)
    for line in lines:
        m = re.search(r"ACPI: SLIC 0x([0-9A-F]+) ", line)
        if m:
            known[key] = int(m.group(1), 16)
            with open(cache, "w") as f:
                json.dump(known, f)
            return known[key]
    raise InputError("the arm64 kernel did not install the carrier table (no 'ACPI: SLIC' line): does it "
                     "support ACPI table upgrade (CONFIG_ACPI_TABLE_UPGRADE)?")


def run(hest: dict, events: list, kernel, timeout: float = 180, console: Optional[str] = None) -> Dict:
    """Boot an arm64 kernel with `hest` (registers moved into the carrier) and each source's first
    record pending; the kernel's lines beside apeitool's --format kernel --arch arm64 rendering."""
    import copy
    import apeitool
    from ..render.kernel import render_block
    from ..replay.records import plan as block_plan
    from ..validate.engine import enum_int
    from . import _booted_version, compare, model_version, split_console
    from .kernels import busybox as fetch_busybox
    from .plan import complete
    hest = complete(hest)
    with open(fetch_busybox("arm64"), "rb") as f:
        bb = f.read()
    ghes = [(i, s) for i, s in enumerate(hest["sources"]) if enum_int("hest_type", s.get("type")) in (9, 10)]
    if not ghes:
        raise InputError("the HEST has no GHES/GHESv2 source: nothing for the kernel to read")
    v2 = [s["source_id"] for _i, s in ghes if enum_int("hest_type", s.get("type")) == 10 and s.get("enabled", 1)]
    if v2:
        raise InputError(f"arm64 guests take GHES sources only: GHESv2 {v2} would have their read-ack "
                         f"register in the carrier table, which the kernel maps read-only (its ack write "
                         f"faults in apei_write: seen on 6.12)")
    lengths = [max(20, s["error_status_block_length"]) for _i, s in ghes]
    # registers 8-byte aligned past the table header: an unaligned 64-bit read of the ioremapped
    # register is an alignment fault on arm64 (seen: an Oops in apei_read at ghes_probe)
    first_reg = 0x40
    regs = first_reg + 16 * len(ghes)
    size = (regs + sum((n + 7) & ~7 for n in lengths) + 0xFFF) & ~0xFFF
    if size > 1 << 20:
        raise InputError("the status blocks need more than the 1 MiB an upgrade table may hold here")
    moved = copy.deepcopy(hest)
    if isinstance(moved.get("header"), dict):
        moved["header"].pop("checksum", None)   # the addresses change: derive it again
    base = carrier_base(kernel, bb, size, apeitool.build(moved, "hest"), timeout)
    body = bytearray(size - HEADER)
    at = base + regs
    pending, undelivered, blocks = {}, [], {}
    for k, ev in enumerate(events):
        if ev.kind in ("write", "write_notify"):
            if ev.source in pending or not any(s["source_id"] == ev.source for _i, s in ghes):
                undelivered.append({"event": k, "why": "arm64: only the record pending at boot is delivered "
                                                       "(later writes would need /dev/mem on RAM)"})
            else:
                pending[ev.source] = (k, ev.data)
        elif ev.kind == "notify":
            undelivered.append({"event": k, "why": "arm64: notifications are not raised; a pending record is "
                                                   "read when the GHES probes"})
    for n, ((i, s), length) in enumerate(zip(ghes, lengths)):
        src = moved["sources"][i]
        reg = base + first_reg + 8 * n
        src["error_status_address"] = dict(src["error_status_address"], address=reg)
        if "read_ack_register" in src:
            ack = base + first_reg + 8 * (len(ghes) + n)
            src["read_ack_register"] = dict(src["read_ack_register"], address=ack)
            body[ack - base - HEADER:ack - base - HEADER + 8] = src.get("read_ack_write", 1).to_bytes(8, "little")
        body[reg - base - HEADER:reg - base - HEADER + 8] = at.to_bytes(8, "little")
        blocks[s["source_id"]] = at
        if s["source_id"] in pending:
            data = pending[s["source_id"]][1][:length]
            body[at - base - HEADER:at - base - HEADER + len(data)] = data
        at += (length + 7) & ~7
    table = apeitool.build(moved, "hest")
    initrd = _upgrade_cpio({"0carrier.aml": _table(CARRIER_SIG, b"CARRIER", bytes(body)),
                            "hest.aml": table}) + \
        newc({"bin/busybox": bb, "init": _init(1.0)}, ["bin", "dev", "proc", "sys"])
    start = time.time()
    lines = _boot(kernel.path, initrd, timeout, console)
    seconds = time.time() - start
    real = split_console(lines)
    # what ghes_probe prints, source by source in HEST order, for the records pending at boot; all
    # within one second, so ghes_print_estatus's ratelimits (2 per 5 s for corrected and for the
    # other severities, as replay models them) let the first two of each class through
    version = model_version(kernel, lines)
    expected, seq, printed = [], 0, {}
    for _i, s in ghes:
        if s["source_id"] in pending and s.get("enabled", 1):
            data = pending[s["source_id"]][1]
            cls = "corrected" if int.from_bytes(data[16:20], "little") == 2 else "uncorrected"
            printed[cls] = printed.get(cls, 0) + 1
            if printed[cls] > 2:
                continue
            seq += 1
            expected += render_block(block_plan(data).block, s["source_id"], seq, "arm64", version, data)
    kernel_lines = [l for l in real["boot"] if "[Hardware Error]" in l]
    series = kernel.series
    diffs = compare({"boot": kernel_lines, "events": {}}, {"boot": expected, "events": {}}, 0, series)
    status = "ok" if any("@@APEITOOL DONE" in l for l in lines) else \
        "panic" if any("Kernel panic" in l for l in lines) else "no-finish"
    return {"kernel": dict(kernel.as_dict(), booted=_booted_version(lines)), "status": status,
            "panicked": any("Kernel panic - not syncing" in l for l in lines), "seconds": round(seconds, 2),
            "carrier": base, "log": real["boot"], "boot": real["boot"], "events": [],
            "undelivered": undelivered, "dropped": real["dropped"], "acked": {}, "block_status": {},
            "model": {"kernel": "apeitool decode --format kernel --arch arm64", "boot": expected, "events": []},
            **diffs}
