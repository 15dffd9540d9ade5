"""What an input file holds, as units of work that give rows.

CPER record and status-block files are framed into windows of whole items (cper/windows.py): each
window is a Task that a worker can redo from (path, offset, length) alone. Everything else is one
task for the whole file: descriptor+body sections and hex/text dumps (decoded whole, bounded),
apeitool's own JSON / JSON Lines, libcper's JSON, and rasdaemon databases (SQLite). Paths with a
scheme ('s3://', 'gcs://', 'memory://'...) are opened with fsspec.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from ..errors import ApeiError, DecodeError, InputError
from .rows import Rows, window_rows

HEAD = 1 << 16
SQLITE_MAGIC = b"SQLite format 3\x00"


def open_path(path: str):
    """A binary file object for a local path, '-' or an fsspec URL."""
    if "://" in path:
        try:
            import fsspec
        except ImportError:
            raise InputError("reading URLs needs fsspec: pip install 'apeitool[fleet]'", source=path) from None
        try:
            return fsspec.open(path, "rb").open()
        except (OSError, ValueError, ImportError) as e:
            raise InputError(f"cannot open: {e}", source=path) from None
    from ..inputs import open_input
    return open_input(path).__enter__()


@dataclass
class Task:
    """One unit of work: a window of a CPER file, or a whole file of another kind."""
    path: str
    kind: str                       # "window", "whole", "sqlite"
    host: Optional[str]
    form: Optional[str] = None
    base: int = 0
    length: int = 0
    first: int = 0
    data: Optional[bytes] = None    # the window's bytes when the planner has them (local runs)

    def run(self) -> Tuple[Rows, List[str]]:
        if self.kind == "sqlite":
            from .rasdaemon import rows_from_db
            return rows_from_db(self.path, self.host), []
        data = self.data
        if data is None:
            with open_path(self.path) as f:
                f.seek(self.base)
                data = f.read(self.length)
        if self.kind == "window":
            return window_rows(data, self.form, self.path, self.base, self.first, self.host)
        return whole_rows(data, self.path, self.host, self.form)

    def without_data(self) -> "Task":
        return Task(self.path, self.kind, self.host, self.form, self.base, self.length, self.first)


def is_local(path: str) -> bool:
    """A path of this machine's file system (not stdin, not a URL)."""
    return path != "-" and "://" not in path


def file_host(path: str, host: Optional[str], host_from_dir: bool) -> Optional[str]:
    """The host a file's records come from: `host`, or with host_from_dir its folder's name."""
    if host_from_dir:
        parent = os.path.basename(os.path.dirname(os.path.abspath(path))) if "://" not in path else \
            path.rstrip("/").rsplit("/", 2)[-2]
        return parent or host
    return host


def failure_line(path: str, e: Exception) -> str:
    """The one line that reports a file that could not be read or decoded."""
    return e.one_line() if isinstance(e, ApeiError) else f"{path}: {e.strerror or e}"


def plan(path: str, host: Optional[str], form: Optional[str] = None, keep_data: bool = True,
         window: Optional[int] = None) -> Iterator[Task]:
    """The tasks of one input, in order (framing reads a CPER file once, sequentially)."""
    from ..bulk import _cper_form
    from ..cper.windows import WINDOW, trailing_bytes, windows
    f = open_path(path)
    try:
        head = f.peek(HEAD)[:HEAD] if hasattr(f, "peek") else b""
        if head.startswith(SQLITE_MAGIC):
            if not (is_local(path) and os.path.isfile(path)):
                raise InputError("an SQLite database on a pipe or URL: copy it to a file first", source=path)
            yield Task(path, "sqlite", host)
            return
        cper_form = _cper_form(head, form, None) if head[:1] not in (b"{", b"[") else None
        if cper_form in ("record", "estatus"):
            for w in windows(f, cper_form, path, window or WINDOW):
                yield Task(path, "window", host, cper_form, w.base, len(w.data), w.first,
                           w.data if keep_data else None)
            extra = trailing_bytes(f, label=path)
            if extra:
                raise DecodeError(f"{extra} bytes after the last {cper_form} the decoder could frame",
                                  source=path)
            return
        from ..inputs import read_stream
        data = read_stream(f, path)
    finally:
        f.close()
    yield Task(path, "whole", host, form, 0, len(data), 0, data if keep_data else None)


def whole_rows(data: bytes, label: str, host: Optional[str], form: Optional[str]) -> Tuple[Rows, List[str]]:
    """Rows of a file read whole: JSON models, libcper JSON, or CPER in any form decode_bytes reads."""
    stripped = data.lstrip()
    if stripped[:1] in (b"{", b"["):
        return json_rows(data, label, host)
    import apeitool
    from ..cper import FORMS, build_document
    rows, warnings = Rows(), []
    for d in apeitool.decode_bytes(data, label, None, None, form):
        if d.kind not in ("cper", "estatus"):
            raise InputError(f"holds {d.kind.upper()}, an ACPI table, not CPER records", source=label)
        doc = d.model
        items = doc[FORMS[doc["form"]]]
        for i, model in enumerate(items):
            raw = build_document(model, doc["form"])
            rows.add_item(model, raw, doc["form"], host, label, 0, i)
        warnings.extend(w.one_line() for w in d.warnings)
    return rows, warnings


def _form_of(model: dict) -> Optional[str]:
    if "header" in model and "sections" in model:
        return "record"
    if "entries" in model and "block_status" in model:
        return "estatus"
    if "descriptor" in model and "body" in model:
        return "section"
    return None


def json_rows(data: bytes, label: str, host: Optional[str]) -> Tuple[Rows, List[str]]:
    """apeitool's own JSON (`decode -f json`, a document or a list) and JSON Lines (`decode -f
    jsonl`), and libcper's JSON: items are rebuilt to their bytes for the content hash (apeitool's
    round trip is exact, so the hash is the original record's)."""
    from ..cper import FORMS, build_document
    from ..render.jsonenc import compact
    from .libcper_json import is_libcper, libcper_model
    rows = Rows()
    text = data.decode("utf-8", "replace")
    try:
        docs = [(0, 1, json.loads(text))]
    except json.JSONDecodeError:
        docs, offset = [], 0
        for n, line in enumerate(text.splitlines(keepends=True), 1):
            if line.strip():
                try:
                    docs.append((offset, n, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise DecodeError(f"line {n} is not JSON: {e.msg}", offset=offset + e.pos,
                                      source=label) from None
            offset += len(line.encode())
    item = 0
    for offset, line, doc in docs:
        models = []
        if isinstance(doc, dict) and doc.get("form") in FORMS and isinstance(doc.get(FORMS[doc["form"]]), list):
            models = [(doc["form"], m) for m in doc[FORMS[doc["form"]]]]
        elif isinstance(doc, list):
            models = [(_form_of(m) if isinstance(m, dict) else None, m) for m in doc]
        elif isinstance(doc, dict) and is_libcper(doc):
            text = compact(doc)
            rows.add_item(libcper_model(doc, f"{label}:{line}"), text, "record", host, label, offset, item,
                          text.decode())
            item += 1
        elif isinstance(doc, dict):
            models = [(_form_of(doc), doc)]
        for form, model in models:
            if form is None:
                raise DecodeError(f"line {line}: neither a CPER record, a status block nor a section model "
                                  f"(decode -f json/jsonl output) nor libcper JSON", offset=offset, source=label)
            try:
                raw = build_document(model, form)
            except ApeiError as e:
                raise DecodeError(f"line {line}: {e.one_line()}", offset=offset, source=label) from None
            rows.add_item(model, raw, form, host, label, offset, item)
            item += 1
    if not len(rows):
        raise DecodeError("no CPER items in the JSON", offset=0, source=label)
    return rows, []


class LocalEngine:
    """Runs every task in this process, as the planner makes it (flat memory: one window at a time)."""

    def __init__(self, form: Optional[str] = None):
        self.form = form

    def batches(self, path: str, host: Optional[str]) -> Iterator[Tuple[Rows, List[str], int]]:
        for task in plan(path, host, self.form):
            rows, warnings = task.run()
            yield rows, warnings, task.length
