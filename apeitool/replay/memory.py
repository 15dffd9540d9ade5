"""Simulated physical memory shared by the firmware and the OS sides, and GAS register access."""
from __future__ import annotations

from typing import Dict

PAGE = 4096
SHIFT, MASK = 12, PAGE - 1     # shifts, not divmod: these run several times per replayed event


class PhysMem:
    """Sparse byte-addressed memory in 4 KiB pages; unwritten bytes read as zero."""

    def __init__(self):
        self.pages: Dict[int, bytearray] = {}
        self.on_write = None      # callback(addr, size): lets the firmware side see OS writes

    def read(self, addr: int, n: int) -> bytes:
        off = addr & MASK
        if off + n <= PAGE:            # the common case: one page
            buf = self.pages.get(addr >> SHIFT)
            return bytes(buf[off:off + n]) if buf is not None else bytes(n)
        out = bytearray()
        while n > 0:
            page, off = divmod(addr, PAGE)
            take = min(n, PAGE - off)
            buf = self.pages.get(page)
            out += buf[off:off + take] if buf is not None else bytes(take)
            addr += take
            n -= take
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        """An OS write: the firmware side hears of it (on_write), then it is stored."""
        if self.on_write is not None:
            self.on_write(addr, len(data))
        self.store(addr, data)

    def store(self, addr: int, data: bytes) -> None:
        """A firmware write: stored without telling anyone."""
        off = addr & MASK
        if off + len(data) <= PAGE:
            buf = self.pages.get(addr >> SHIFT)
            if buf is None:
                buf = self.pages[addr >> SHIFT] = bytearray(PAGE)
            buf[off:off + len(data)] = data
            return
        pos = 0
        while pos < len(data):
            page, off = divmod(addr + pos, PAGE)
            take = min(len(data) - pos, PAGE - off)
            buf = self.pages.get(page)
            if buf is None:
                buf = self.pages[page] = bytearray(PAGE)
            buf[off:off + take] = data[pos:pos + take]
            pos += take

    def read_int(self, addr: int, size: int) -> int:
        off = addr & MASK
        if off + size <= PAGE:
            buf = self.pages.get(addr >> SHIFT)
            return int.from_bytes(buf[off:off + size], "little") if buf is not None else 0
        return int.from_bytes(self.read(addr, size), "little")

    def write_int(self, addr: int, size: int, value: int) -> None:
        self.write(addr, (value & ((1 << 8 * size) - 1)).to_bytes(size, "little"))

    def store_int(self, addr: int, size: int, value: int) -> None:
        self.store(addr, (value & ((1 << 8 * size) - 1)).to_bytes(size, "little"))


def access_bytes(gas: dict) -> int:
    """Bytes one access to a GAS register moves: its access size (apei_read/apei_write widen the
    common 32/64-bit-width-with-smaller-access firmware bug the way apei_check_gar does)."""
    from ..validate.engine import enum_int
    code = enum_int("access_size", gas.get("access_size")) or 0
    bits = 1 << (code + 2) if 1 <= code <= 4 else 64
    width = gas.get("bit_width", 64)
    if width in (32, 64) and gas.get("bit_offset", 0) == 0 and bits < width:
        bits = width
    return bits // 8
