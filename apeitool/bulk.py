"""Bulk decoding for fleets: many files and millions of records to JSON Lines, in flat memory,
optionally on several processes.

CPER files are read in windows of whole records (cper/windows.py), so a file of any size is never
held; each window decodes to one compact JSON object per record/block/section, in input order.
With jobs > 1 the windows go to worker processes (at most 2 per worker in flight, so memory stays
bounded); a worker writes its window's lines to a file in a private temporary folder and the parent
copies the files out in input order with sendfile (JSON is ~5x the CPER it comes from: pickling it
back through the pool's pipes cost the parent more CPU than the copy). Tables and small inputs go
through the ordinary decoder.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque
from typing import BinaryIO, Callable, List, Optional, Tuple

from .errors import ApeiError, DecodeError
from .render.jsonenc import compact as _dumps   # imported once: a function-level import costs per record

HEAD = 1 << 16
PARALLEL_WINDOW = 1 << 20


def decode_window(args) -> Tuple[bytes, List[str], int, Optional[str]]:
    """One window: (output, warning lines, items, error line or None). Runs in workers. The output
    is JSON Lines, or (fmt json/libcper) the window's items rendered at `depth` and joined by
    ",\n" for render.streamed's writers to put in their array."""
    from .cper import iter_items
    data, form, label, base, first = args[:5]
    if isinstance(data, tuple):      # (path, length): the worker reads its window itself
        with open(data[0], "rb") as fh:
            fh.seek(base)
            data = fh.read(data[1])
    fmt, depth = args[5:7] if len(args) > 5 else ("jsonl", 0)
    if fmt == "jsonl":
        render, sep, last = _dumps, b"\n", True
    else:
        from .render.streamed import item_renderer
        render, sep, last = item_renderer(fmt, form, depth), b",\n", False
    out, warnings, n = [], [], 0
    try:
        for model, ws, _pos, _len in iter_items(data, form, label, base, first):
            out.append(render(model))
            warnings.extend(w.one_line() for w in ws)
            n += 1
    except ApeiError as e:
        return _join(out, sep, last), warnings, n, e.one_line()
    return _join(out, sep, last), warnings, n, None


def decode_window_to_file(args, path: str) -> Tuple[str, List[str], int, Optional[str]]:
    """decode_window in a worker, its lines written to `path` (the parent copies them out)."""
    text, warnings, n, error = decode_window(args)
    try:
        with open(path, "wb") as f:
            f.write(text)
    except OSError as e:
        return "", warnings, 0, f"cannot write the temporary file {path}: {e.strerror or e}"
    return path, warnings, n, error


def _lines(out: List[bytes]) -> bytes:
    return _join(out, b"\n", True)


def _join(out: List[bytes], sep: bytes, sep_after_last: bool) -> bytes:
    """The items joined by `sep` (and ended by it) in one allocation: a window's text is megabytes,
    and every copy costs page faults."""
    if not out:
        return b""
    if sep_after_last:
        out.append(b"")
    return sep.join(out)


class Sink:
    """Where decoded lines go, with the warning callback and the count."""

    def __init__(self, out: BinaryIO, warn: Callable[[str], None]):
        self.out, self.warn, self.items = out, warn, 0

    def put(self, result) -> None:
        text, warnings, n, error = result
        self.out.write(text)
        self._done(warnings, n, error)

    def put_file(self, result) -> None:
        """A worker's result: its lines are in a file, copied out and removed."""
        path, warnings, n, error = result
        if path:
            with open(path, "rb") as f:
                self._copy(f)
            os.unlink(path)
        self._done(warnings, n, error)

    def _copy(self, f) -> None:
        """sendfile to the output's descriptor; what it cannot send (no descriptor, as BytesIO; a
        descriptor sendfile refuses, as some terminals; no sendfile, as on Windows) is copied."""
        try:
            fd = self.out.fileno() if hasattr(os, "sendfile") else None
        except (AttributeError, OSError, ValueError):
            fd = None
        off = 0
        if fd is not None:
            self.out.flush()
            size = os.fstat(f.fileno()).st_size
            try:
                while off < size:
                    sent = os.sendfile(fd, f.fileno(), off, size - off)
                    if sent == 0:
                        break
                    off += sent
            except OSError:
                pass
        f.seek(off)
        shutil.copyfileobj(f, self.out, 1 << 20)

    def _done(self, warnings, n: int, error: Optional[str]) -> None:
        self.items += n
        for w in warnings:
            self.warn(w)
        if error:
            raise DecodeError(error)


def _cper_form(head: bytes, form: Optional[str], kind: Optional[str]) -> Optional[str]:
    """The form to read in windows (record or estatus), or None to decode the input whole (ACPI
    tables, text dumps, descriptor+body sections)."""
    from .cper import detect_form
    from .inputs import _is_text
    from .tables import looks_like_table
    if form or kind in ("hest", "bert", "einj", "erst"):
        return form if form in ("record", "estatus") else None
    if looks_like_table(head) or _is_text(head):
        return None
    if head[:4] == b"CPER":
        return "record"
    if kind == "estatus" or detect_form(head) == "estatus":
        return "estatus"
    return None


def window_form(path: str, form: Optional[str] = None, kind: Optional[str] = None) -> Optional[str]:
    """'record' or 'estatus' when `path` (a regular file, or '-' for stdin, peeked) holds CPER
    records or status blocks that can be read in windows; else None (tables, text dumps,
    descriptor+body sections, devices: decoded whole)."""
    from .errors import ApeiError
    from .inputs import open_input
    if path != "-" and not os.path.isfile(path):
        return None
    try:
        with open_input(path) as f:
            head = f.peek(HEAD)[:HEAD] if hasattr(f, "peek") else b""
    except ApeiError:
        return None
    found = _cper_form(head, form, kind)
    return found if found in ("record", "estatus") else None


def window_source(f) -> Optional[str]:
    """The path workers can read a window from themselves (a regular file), else None: the window's
    bytes then go to them through the pool's pipe."""
    import stat
    try:
        name = f.name
        if isinstance(name, str) and stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return name
    except (AttributeError, OSError, ValueError):
        pass
    return None


def decode_file(f: BinaryIO, label: str, form: str, sink: Sink, pool=None, jobs: int = 1,
                spool: str = "") -> None:
    """`pool` and `spool` (the workers' temporary folder) go together."""
    from .cper.windows import WINDOW, trailing_bytes, windows
    size = PARALLEL_WINDOW if pool is not None else WINDOW
    pending: deque = deque()
    source = window_source(f)
    for i, w in enumerate(windows(f, form, label, size)):
        args = (w.data if pool is None or source is None else (source, len(w.data)), form, label, w.base, w.first)
        if pool is None:
            sink.put(decode_window(args))
        else:
            path = os.path.join(spool, f"{i}.jsonl")
            pending.append(pool.apply_async(decode_window_to_file, (args, path)))
            if len(pending) >= 2 * jobs:
                sink.put_file(pending.popleft().get())
    while pending:
        sink.put_file(pending.popleft().get())
    extra = trailing_bytes(f, label=label)
    if extra:
        sink.warn(f"{label}: {extra} bytes after the last window the decoder could frame are not decoded")


def decode_paths(paths, out: BinaryIO, warn: Callable[[str], None], jobs: int = 1, table: Optional[str] = None,
                 form: Optional[str] = None, kind: Optional[str] = None,
                 on_error: Optional[Callable[[str], None]] = None) -> int:
    """Decode every path to JSON Lines on `out`; returns the number of items written. With
    `on_error`, a file that fails is reported there (after the lines it gave) and the next goes on;
    without, the error propagates."""
    sink = Sink(out, warn)
    with worker_pool(jobs) as (pool, spool):
        for path in paths:
            try:
                _decode_path(path, sink, pool, jobs, spool, table, form, kind, warn)
            except ApeiError as e:
                if on_error is None:
                    raise
                on_error(e.one_line())
    return sink.items


class worker_pool:
    """(pool, spool folder) for `jobs` > 1 worker processes, or (None, "") for one; the pool is
    ended and the folder removed whatever happens."""

    def __init__(self, jobs: int):
        self.jobs, self.pool, self.spool = jobs, None, ""

    def __enter__(self):
        if self.jobs > 1:
            import multiprocessing
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
            self.spool = tempfile.mkdtemp(prefix="apeitool-jobs-")
            self.pool = ctx.Pool(self.jobs, initializer=_worker_init)
        return self.pool, self.spool

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        if self.spool:
            shutil.rmtree(self.spool, ignore_errors=True)
        return False


def _worker_init() -> None:
    """Workers leave Ctrl-C to the parent, which ends the pool and removes the spool: no worker
    tracebacks on the terminal."""
    import signal
    from .cper.windows import keep_heap
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_heap()


def _decode_path(path, sink, pool, jobs, spool, table, form, kind, warn) -> None:
    """One input: CPER files in windows, anything else read whole (bounded) and decoded."""
    import apeitool
    from .inputs import open_input, read_stream
    label = "<stdin>" if path == "-" else path
    with open_input(path) as f:
        head = f.peek(HEAD)[:HEAD] if hasattr(f, "peek") else b""
        cper_form = _cper_form(head, form, kind)
        if cper_form in ("record", "estatus"):
            decode_file(f, label, cper_form, sink, pool, jobs, spool)
            return
        # the same open file: the peeked bytes are still in its buffer, and a FIFO or /dev/fd/N
        # could not be opened a second time
        data = read_stream(f, label)
    for d in apeitool.decode_bytes(data, label, table, kind if kind in ("cper", "estatus") else None, form):
        model = d.model
        if d.kind in ("cper", "estatus"):
            key = {"record": "records", "estatus": "blocks", "section": "sections"}[model["form"]]
            lines = [_dumps(item) for item in model[key]]
        else:
            lines = [_dumps(model)]
        for w in d.warnings:
            warn(w.one_line())
        sink.put((_lines(lines), [], len(lines), None))
