"""Reading what users hand us: raw tables, acpidump text, iasl .dsl raw dumps, hex dumps, stdin, sysfs.

read_input(path) returns a list of InputItem(label, data): one per table found. Detection order:
raw binary table (known signature), acpidump text, an iasl .dsl's "Raw Table Data", xxd, hexdump -C,
offset-prefixed hex lines, and bare hex digits.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import List, Optional

from .errors import InputError
from .tables import looks_like_table, supported_signatures

MAX_INPUT = 1 << 30  # refuse to slurp more than 1 GiB of input


@dataclass
class InputItem:
    label: str          # file name, with [SIG] or [SIG#n] for tables picked out of a dump
    data: bytes
    signature: Optional[str] = None


class open_input:
    """A binary file to read: stdin for '-', else `path` (regular files, device nodes, FIFOs,
    sysfs). Every command opens its inputs here, so a missing file, a directory, a symlink loop or
    a closed stdin is the same one-line error everywhere."""

    def __init__(self, path: str):
        self.path, self.label, self.f = path, "<stdin>" if path == "-" else path, None

    def __enter__(self):
        if self.path == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            if stdin is None or stdin.closed:
                raise InputError("standard input is closed", source=self.label)
            return stdin
        try:
            if os.path.isdir(self.path):
                raise InputError("is a directory, not a file", source=self.label)
            self.f = open(self.path, "rb")
        except OSError as e:
            raise InputError(e.strerror or str(e), source=self.label) from None
        return self.f

    def __exit__(self, *exc):
        if self.f is not None:
            self.f.close()
        return False


ZERO_SCAN = 1 << 20       # an input whose first MiB is all zero bytes is nothing we decode
GARBAGE_SCAN = 64 << 20   # binary input this long that no decoder recognises is not read further
CHUNK = 1 << 20


def read_bytes(path: str, limit: int = MAX_INPUT) -> bytes:
    """The whole input, read a chunk at a time with the limits checked as it comes in: at most
    `limit` bytes (an ACPI table: its Table Length and 1 MiB more), an all-zero first MiB or 64 MiB
    of unrecognisable binary are errors before more is read. Endless inputs (/dev/zero,
    /dev/urandom, a pipe that never closes) end in an error, not in memory exhaustion."""
    with open_input(path) as f:
        return read_stream(f, "<stdin>" if path == "-" else path, limit)


def read_stream(f, label: str, limit: int = MAX_INPUT) -> bytes:
    """read_bytes on a file already open."""
    buf = bytearray()
    checked_zero = checked_garbage = False
    while True:
        try:
            chunk = f.read(CHUNK)
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror or e}", source=label) from None
        if not chunk:
            break
        if not buf:
            limit = min(limit, _limit_for(bytes(chunk[:4096]), limit))
        buf += chunk
        if not checked_zero and len(buf) >= ZERO_SCAN:
            checked_zero = True
            if not any(buf[:ZERO_SCAN]):
                raise InputError(f"the first {ZERO_SCAN >> 20} MiB are zero bytes: no table, record or "
                                 f"status block (an endless input such as /dev/zero?)", source=label)
        if not checked_garbage and len(buf) >= GARBAGE_SCAN:
            checked_garbage = True
            if not _recognisable(bytes(buf[:1 << 16])):
                raise InputError(f"{GARBAGE_SCAN >> 20} MiB of binary data that is no ACPI table, CPER "
                                 f"record or status block (an endless input such as /dev/urandom?)",
                                 source=label)
        if len(buf) > limit:
            what = "the ACPI table's Table Length and 1 MiB" if limit < MAX_INPUT else "1 GiB"
            raise InputError(f"input larger than {what}: not read further", source=label)
    return bytes(buf)


def _limit_for(head: bytes, limit: int) -> int:
    """An ACPI table needs its Table Length and a little slack; anything else the general limit."""
    if looks_like_table(head) and len(head) >= 8:
        return int.from_bytes(head[4:8], "little") + CHUNK
    return limit


def _recognisable(head: bytes) -> bool:
    from .cper import detect_form
    return looks_like_table(head) or _is_text(head) or signature_like(head) or detect_form(head) is not None


_ACPIDUMP_HEAD = re.compile(r"^\s*([A-Za-z0-9_!\-]{4}) @ 0x[0-9A-Fa-f]+\s*$")
_OFFSET_LINE = re.compile(r"^\s*([0-9A-Fa-f]{4,16}):?\s+(.*)$")
_HEXDUMP_C = re.compile(r"^([0-9A-Fa-f]{6,16})\s\s(.*?)\s*(\|.*\|)?\s*$")
_HEX2 = re.compile(r"^[0-9A-Fa-f]{2}$")
_HEX4 = re.compile(r"^[0-9A-Fa-f]{4}$")


def _line_bytes(rest: str) -> Optional[bytes]:
    """Hex bytes at the start of a dump line, up to the gap before its ASCII column."""
    # the ASCII column (or a // comment) follows a run of two or more spaces
    head = re.split(r"\s{2,}|\s*//", rest.strip(), maxsplit=1)[0]
    tokens = head.split()
    if not tokens:
        return None
    if all(_HEX2.match(t) for t in tokens):
        return bytes(int(t, 16) for t in tokens)
    if all(_HEX4.match(t) or _HEX2.match(t) for t in tokens):  # xxd groups
        return bytes.fromhex("".join(tokens))
    return None


def _parse_offset_lines(lines, what: str, label: str) -> bytes:
    """Lines 'OFFSET: XX XX ...' whose offsets must run on without gaps."""
    out = bytearray()
    for n, line in lines:
        m = _OFFSET_LINE.match(line)
        if not m:
            continue
        off = int(m.group(1), 16)
        chunk = _line_bytes(m.group(2))
        if chunk is None:
            continue
        if off != len(out):
            raise InputError(f"{what}: line {n} has offset 0x{off:X}, expected 0x{len(out):X}",
                             source=label)
        out += chunk
    return bytes(out)


def _acpidump(text: str, label: str) -> List[InputItem]:
    items, current, sig = [], None, None
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        m = _ACPIDUMP_HEAD.match(line)
        if m:
            if current is not None:
                items.append((sig, current))
            sig, current = m.group(1), []
            continue
        if current is not None:
            current.append((n, line))
    if current is not None:
        items.append((sig, current))
    out = []
    for sig, body in items:
        data = _parse_offset_lines(body, f"acpidump table {sig}", label)
        # signatures are upper case; some tools print the heading as "hest @ 0x..."
        out.append(InputItem(label, data, sig.upper()))
    _number_labels(out, label)
    return out


MAX_TEXT_DATA = 64 << 20   # bytes a text dump may stand for ('*' rows included)


def _repeat_to(out: bytearray, row: bytes, end: int, n: int, label: str) -> None:
    """hexdump's '*': `row` again up to offset `end`, checked against the limit before any byte
    is added (a 94-byte dump can claim terabytes)."""
    if end > MAX_TEXT_DATA:
        raise InputError(f"hexdump: line {n} has offset 0x{end:X}: the '*' before it would repeat rows past "
                         f"{MAX_TEXT_DATA >> 20} MiB, more than any table or record file", source=label)
    if row and end > len(out):
        reps = (end - len(out)) // len(row)
        out += row * reps


def _hexdump_c(lines, label: str) -> Optional[bytes]:
    """`hexdump -C` / `od`-like output, including '*' lines for repeated rows."""
    out = bytearray()
    last = None
    pending_repeat = False
    matched = 0
    for n, line in lines:
        if line.strip() == "*":
            pending_repeat = True
            continue
        m = _HEXDUMP_C.match(line)
        if not m:
            if re.match(r"^[0-9A-Fa-f]{6,16}\s*$", line.strip()):  # final offset line
                end = int(line.strip(), 16)
                if pending_repeat and last is not None:
                    _repeat_to(out, last, end, n, label)
                    pending_repeat = False
            continue
        off = int(m.group(1), 16)
        tokens = m.group(2).split()
        if not tokens or not all(_HEX2.match(t) for t in tokens):
            continue
        if pending_repeat and last is not None:
            _repeat_to(out, last, off, n, label)
            pending_repeat = False
        if off != len(out):
            raise InputError(f"hexdump: line {n} has offset 0x{off:X}, expected 0x{len(out):X}",
                             source=label)
        last = bytes(int(t, 16) for t in tokens)
        out += last
        matched += 1
    return bytes(out) if matched else None


def _raw_table_blocks(text: str, label: str) -> List[InputItem]:
    """Each "Raw Table Data:" block of iasl disassembly is one table: a .dsl has one, a hw-probe or
    `acpidump -b; iasl -d *` concatenation has one per table. A block is the run of offset lines
    after its heading; whatever follows (the next table's field lines) is not part of it."""
    items = []
    starts = [m.start() for m in re.finditer(r"Raw Table Data:", text)]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(text)
        first_line = text.count("\n", 0, start) + 1
        lines, started = [], False
        for n, line in enumerate(text[start:end].splitlines()[1:], first_line + 1):
            m = _OFFSET_LINE.match(line)
            if m and _line_bytes(m.group(2)) is not None:
                lines.append((n, line))
                started = True
            elif started and line.strip():
                break
        data = _parse_offset_lines(lines, "iasl raw table data", label)
        items.append(InputItem(label, data, _signature_of(data)))
    if len(items) > 1:
        _number_labels(items, label)
    return items


def _signature_of(data: bytes) -> Optional[str]:
    return data[:4].decode("latin-1") if len(data) >= 4 else None


def _number_labels(items: List[InputItem], label: str) -> None:
    """label[SIG], or label[SIG#n] where a signature repeats (SSDTs), so each label names one table."""
    seen = {}
    for item in items:
        seen[item.signature] = seen.get(item.signature, 0) + 1
    counts = {}
    for item in items:
        if seen[item.signature] > 1:
            counts[item.signature] = counts.get(item.signature, 0) + 1
            item.label = f"{label}[{item.signature}#{counts[item.signature]}]"
        else:
            item.label = f"{label}[{item.signature}]"


def parse_text(text: str, label: str) -> List[InputItem]:
    """Tables from text: acpidump output, iasl .dsl, xxd, hexdump -C, or bare hex."""
    lines = list(enumerate(text.splitlines(), 1))
    if any(_ACPIDUMP_HEAD.match(line) for _, line in lines):
        return _acpidump(text, label)
    if "Raw Table Data:" in text:
        return _raw_table_blocks(text, label)
    if any(re.match(r"^[0-9A-Fa-f]{6,16}\s\s[0-9A-Fa-f]{2}\s", line) for _, line in lines):
        data = _hexdump_c(lines, label)
        if data:
            return [InputItem(label, data)]
    if any(_OFFSET_LINE.match(line) and _line_bytes(_OFFSET_LINE.match(line).group(2))
           for _, line in lines):
        return [InputItem(label, _parse_offset_lines(lines, "hex dump", label))]
    bare = re.sub(r"(0x|\\x|[\s,:])", "", text)
    if bare and re.fullmatch(r"[0-9A-Fa-f]+", bare) and len(bare) % 2 == 0:
        return [InputItem(label, bytes.fromhex(bare))]
    raise InputError("not an ACPI table, acpidump output or hex dump", source=label)


def _is_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\0" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(sample) - 3  # a multi-byte character cut at the sample's end
    return True


def signature_like(data: bytes) -> bool:
    """Four signature characters and room for an ACPI header: a table, perhaps of a kind we do not
    support (so it gets the unsupported-signature error, not CPER detection)."""
    return len(data) >= 36 and re.fullmatch(rb"[A-Z0-9_]{4}", data[:4]) is not None


def split_input(data: bytes, label: str) -> List[InputItem]:
    """Recognise the form of `data` and return the tables in it (still undecoded)."""
    if not data:
        raise InputError("empty input", source=label)
    if looks_like_table(data):
        return [InputItem(label, data, data[:4].decode("latin-1"))]
    if _is_text(data):
        items = parse_text(data.decode("utf-8-sig", "replace"), label)   # a BOM is no text
        for item in items:
            if item.signature is None and len(item.data) >= 4:
                item.signature = item.data[:4].decode("latin-1")
        return items
    if signature_like(data):
        shown = data[:4].decode("latin-1")
        raise InputError(f"offset 0x0: header.signature: unsupported table signature '{shown}' "
                         f"(supported: {', '.join(supported_signatures())})", source=label)
    raise InputError("not an ACPI table (no known signature at offset 0), acpidump output or hex dump",
                     source=label)


def select_tables(items: List[InputItem], table: Optional[str], label: str) -> List[InputItem]:
    """Pick tables by signature (--table); from a whole dump keep the ones we can decode."""
    if table:
        wanted = table.upper()
        picked = [i for i in items if (i.signature or "").upper() == wanted]
        if not picked:
            found = ", ".join(sorted({i.signature or "?" for i in items})) or "none"
            raise InputError(f"no {wanted} table in the input (found: {found})", source=label)
        return picked
    if len(items) > 1:
        usable = [i for i in items if i.signature in supported_signatures()]
        if not usable:
            found = ", ".join(sorted({i.signature or "?" for i in items}))
            raise InputError(f"no supported table in the input (found: {found}; supported: "
                             f"{', '.join(supported_signatures())})", source=label)
        return usable
    return items


def read_input(path: str, table: Optional[str] = None) -> List[InputItem]:
    """Read `path` ('-' for stdin) and return its tables, filtered by signature when `table` is set."""
    label = "<stdin>" if path == "-" else path
    return select_tables(split_input(read_bytes(path), label), table, label)
