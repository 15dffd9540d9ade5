"""The guest's initramfs: busybox (Debian's busybox-static) and an /init of ours, written as a
newc cpio archive (the format the kernel unpacks; no cpio binary needed)."""
from __future__ import annotations

import os
import shutil
from typing import Dict, Union

from ..errors import InputError

BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")


def busybox_path() -> str:
    for path in BUSYBOX_PATHS:
        if os.path.isfile(path) and _is_static(path):
            return path
    raise InputError("a static busybox is needed for the guest: install the Debian package busybox-static")


def _is_static(path: str) -> bool:
    """An ELF without a PT_INTERP program header runs with no libraries in the initramfs."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if head[:4] != b"\x7fELF" or head[4] != 2:
        return False
    phoff = int.from_bytes(head[0x20:0x28], "little")
    phentsize = int.from_bytes(head[0x36:0x38], "little")
    phnum = int.from_bytes(head[0x38:0x3A], "little")
    for i in range(phnum):
        at = phoff + i * phentsize
        if int.from_bytes(head[at:at + 4], "little") == 3:    # PT_INTERP
            return False
    return True


def _entry(out: bytearray, ino: int, name: str, mode: int, data: bytes = b"") -> None:
    """One newc record: 110-byte ASCII header, name (NUL-terminated), data, each padded to 4."""
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
    out += b"070701" + b"".join(f"{v:08X}".encode() for v in fields)
    out += name_b
    out += bytes(-len(out) % 4)
    out += data
    out += bytes(-len(out) % 4)


def newc(files: Dict[str, Union[bytes, str]], dirs=()) -> bytes:
    """A newc archive of `dirs` (0755) and `files` (path -> bytes, mode 0755); the trailer ends it."""
    out = bytearray()
    ino = 1
    for d in dirs:
        _entry(out, ino, d, 0o040755)
        ino += 1
    for name, data in files.items():
        raw = data.encode() if isinstance(data, str) else data
        _entry(out, ino, name, 0o100755, raw)
        ino += 1
    _entry(out, ino, "TRAILER!!!", 0)
    out += bytes(-len(out) % 512)
    return bytes(out)


def build(init_script: str, extra: Dict[str, bytes], busybox: str = None, extra_dirs=()) -> bytes:
    """busybox at /bin/busybox, /init, and `extra` files (the plan's blocks, programs)."""
    with open(busybox or busybox_path(), "rb") as f:
        bb = f.read()
    dirs = ["bin", "dev", "proc", "sys", "data", *extra_dirs]
    files = {"bin/busybox": bb, "init": init_script}
    files.update(extra)
    return newc(files, dirs)


def copy_busybox_to(path: str) -> None:
    shutil.copy(busybox_path(), path)
