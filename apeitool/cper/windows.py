"""Reading big CPER files in windows of whole records (or status blocks) without holding the file.

The framing reads only each item's length from its header; decoding (and its errors) is left to
iter_items on each window, which may run in another process. Where the framing cannot tell an
item's length (odd bytes, zero padding), everything left is handed over as the last window, so
the decoder reports it; bytes beyond that window are only scanned (trailing_bytes), never held.
"""
from __future__ import annotations

from typing import BinaryIO, Iterator, NamedTuple, Optional

from ..errors import DecodeError

WINDOW = 1 << 20
MAX_ITEM = 64 << 20     # larger lengths are lies: no record or block comes near


class Window(NamedTuple):
    base: int       # file offset of data[0]
    data: bytes
    first: int      # number of the first item in it
    last: bool      # the unframed rest of the file


HEADER_NEED = {"record": 24, "estatus": 20}
WHAT = {"record": "CPER records", "estatus": "status blocks"}
SHORT = -1


def item_length(buf, pos: int, form: str) -> Optional[int]:
    """The length of the item at `pos` from its header alone; SHORT if the buffer ends inside the
    header; None where the length cannot be told."""
    avail = len(buf) - pos
    if form in HEADER_NEED and avail < HEADER_NEED[form]:
        return SHORT
    if form == "record":
        if buf[pos:pos + 4] != b"CPER":
            return None
        n = int.from_bytes(buf[pos + 20:pos + 24], "little")
        return n if n >= 128 else None
    if form == "estatus":
        if not any(buf[pos:pos + 16]):
            return None
        roff, rlen, dlen = (int.from_bytes(buf[pos + o:pos + o + 4], "little") for o in (4, 8, 12))
        return max(roff + rlen if rlen else 20 + dlen, 20 + dlen)
    return None     # the descriptor+body form has no self-framing length worth trusting


_HEAP_KEPT = False


def keep_heap() -> None:
    """Ask glibc to keep 64 MiB at the top of the heap instead of returning freed memory at once:
    every window allocates and frees megabytes of models and text, and giving them back to the
    kernel each time cost a fifth of a big decode's CPU in page faults. Untouched, the pad is not
    resident (peak RSS does not change). A no-op elsewhere."""
    global _HEAP_KEPT
    if _HEAP_KEPT:
        return
    _HEAP_KEPT = True
    import sys
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").mallopt(-2, 64 << 20)      # M_TOP_PAD
    except (OSError, AttributeError):
        pass


def windows(f: BinaryIO, form: str, label: str, size: int = WINDOW) -> Iterator[Window]:
    buf = bytearray()
    base = first = 0
    eof = False

    def fill(need: int) -> None:
        nonlocal eof
        while not eof and len(buf) < need:
            data = f.read(max(size, need - len(buf)))
            if not data:
                eof = True
            buf.extend(data)

    while True:
        fill(size)
        pos = count = 0
        while pos < size:
            n = item_length(buf, pos, form)
            if n == SHORT and not eof:
                fill(pos + HEADER_NEED[form])
                continue
            if n is None or n == SHORT:
                break
            if n > MAX_ITEM:
                raise DecodeError(f"length {n} is larger than any record or block ({MAX_ITEM} bytes): "
                                  f"the input is not framed as {WHAT[form]}", offset=base + pos, source=label)
            if pos + n > len(buf):
                if pos == 0 and not eof:
                    fill(n)          # one item bigger than the window
                    continue
                break
            pos += n
            count += 1
        if pos == 0:
            if buf:   # what the framing cannot read: the decoder reports or ends it (padding)
                yield Window(base, bytes(buf), first, True)
            return
        with memoryview(buf) as view:        # one copy of the window, not two
            data = bytes(view[:pos])
        if base:                               # a second window: a big input
            keep_heap()
        yield Window(base, data, first, False)
        del buf[:pos]
        base += pos
        first += count
        if eof and not buf:
            return



MAX_PADDING = 64 << 20   # zero padding beyond this after the last item is an endless input
MAX_TRAILING = 64 << 20  # unframed bytes after the last window: garbage, not records


def trailing_bytes(f: BinaryIO, size: int = WINDOW, label: str = "") -> int:
    """After the last window: the number of non-zero-padding bytes left in `f` (0 if none). The
    scan holds one chunk at a time and gives up on zero padding longer than MAX_PADDING (a device
    such as /dev/zero, or an endless stream): a DecodeError."""
    left = zeros = 0
    while True:
        data = f.read(size)
        if not data:
            return left
        if left or any(data):
            left += len(data)
            if left > MAX_TRAILING:
                raise DecodeError(f"more than {MAX_TRAILING >> 20} MiB after the last item the framing could "
                                  f"read: not a file of records (an endless input?)", source=label or None)
        else:
            zeros += len(data)
            if zeros > MAX_PADDING:
                raise DecodeError(f"more than {MAX_PADDING >> 20} MiB of zero bytes after the last item: "
                                  f"not a file of records (an endless input such as /dev/zero?)",
                                  source=label or None)
