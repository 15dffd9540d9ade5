"""Decode output written item by item, so a CPER file of any size renders in flat memory.

A file of CPER records or status blocks is read in windows of whole items (cper/windows.py); each
item is rendered and written as soon as it is decoded. The output is the same, byte for byte, as
rendering the whole document at once (render_document): JSON is an array written element by
element, YAML a block list, the kernel lines and the libcper objects one item at a time, the text
tree one tree per item. What only the end of the file tells (zero padding, trailing bytes, whether
libcper's output is one object or a list) is written when the end is reached.
"""
from __future__ import annotations

import json
from typing import BinaryIO, Callable, Iterator, List, Optional, Tuple

from ..cper import FORMS, iter_items, no_items
from ..errors import DecodeError, DecodeWarning
from .jsonenc import indented

class ItemReader:
    """The items of one CPER file (record or estatus form), lazily: iterate for (index, model,
    warnings, file offset); afterwards `tail` holds what decode_document puts after the items
    ({"padding": n} or {"trailing": hex}) and `tail_warnings` its warning."""

    def __init__(self, f: BinaryIO, label: str, form: str):
        self.f, self.label, self.form = f, label, form
        self.count = 0
        self.tail: dict = {}
        self.tail_warnings: List[DecodeWarning] = []
        self.tail_offset = 0

    def __iter__(self) -> Iterator[Tuple[int, dict, list, int]]:
        from ..cper.windows import windows
        rest, end = b"", 0
        for w in windows(self.f, self.form, self.label):
            stop = 0
            for model, ws, pos, length in iter_items(w.data, self.form, self.label, w.base, w.first):
                yield self.count, model, ws, w.base + pos
                self.count += 1
                stop = pos + length
                end = w.base + stop
            if w.last:
                rest = w.data[stop:]
        if not self.count:
            raise no_items(self.form, self.label)
        self._tail(rest, end)

    def _tail(self, rest: bytes, end: int) -> None:
        self.tail, self.tail_warnings, self.tail_offset = read_tail(self.f, rest, end, self.form, self.label)


def read_tail(f: BinaryIO, rest: bytes, end: int, form: str, label: str):
    """What follows the last item (`rest` of the last window, then the rest of `f`): all zero bytes
    are padding, anything else trailing bytes (bounded: the windows stopped framing there, so this
    is not a file of items any more). Returns (tail dict, warnings, its offset)."""
    from ..cper.windows import MAX_TRAILING
    zeros, kept, size = 0, [], 0
    chunk = rest
    while True:
        if kept or any(chunk):
            if not kept and zeros:
                kept.append(bytes(zeros))
            kept.append(chunk)
        else:
            zeros += len(chunk)
        size += len(chunk)
        if size > MAX_TRAILING:
            raise DecodeError(f"more than {MAX_TRAILING >> 20} MiB after the last {form}: not a file of "
                              f"them (an endless input?)", offset=end, source=label)
        chunk = f.read(1 << 20)
        if not chunk:
            break
    if kept:
        data = b"".join(kept)
        return ({"trailing": data.hex()},
                [DecodeWarning(f"{len(data)} bytes after the last {form} are not part of it", end, None, label)],
                end)
    return ({"padding": size} if size else {}), [], end


def _indent(text: str, by: int) -> str:
    pad = " " * by
    return "\n".join(pad + line if line else line for line in text.split("\n"))


class Writer:
    """Renders documents item by item to a binary `out`. Per input: begin(form, label), item(...)
    for each item, end(tail); close() after the last input."""

    def __init__(self, out: BinaryIO, n_inputs: int):
        self.out, self.n_inputs, self.inputs = out, n_inputs, 0

    def put(self, text: str) -> None:
        if text:
            self.out.write(text.encode("utf-8"))

    def begin(self, form: str, label: str) -> None:
        self.form, self.label = form, label
        self.inputs += 1

    def item(self, i: int, model: dict, pos: int) -> None:
        raise NotImplementedError

    def end(self, tail: dict) -> None:
        pass

    def close(self) -> None:
        pass


def item_renderer(fmt: str, form: str, depth: int) -> Callable[[dict], bytes]:
    """The text of one item as an element of the JSON array at `depth` (json: the model; libcper:
    its CPER-JSON object). Also runs in --jobs workers."""
    if fmt == "json":
        return lambda model: _indent(indented(model), depth + 4).encode()
    from . import libcper
    convert = libcper.record if form == "record" else libcper.section_form
    return lambda model: _indent(indented(convert(model)), depth + 2).encode()


class ChunkWriter(Writer):
    """Writers whose items are array elements: item() renders one, chunk() takes a run of
    rendered ones (joined by ",\n", from a --jobs worker)."""
    fmt = ""

    @property
    def item_depth(self) -> int:
        return 2 if self.n_inputs > 1 else 0

    def item(self, i, model, pos):
        self.chunk(self.render(model), 1)

    def chunk(self, text: bytes, n: int) -> None:
        raise NotImplementedError


class JsonWriter(ChunkWriter):
    """json.dumps(doc, indent=2) (or of the list of documents), one element at a time."""
    fmt = "json"

    def begin(self, form, label):
        super().begin(form, label)
        many = self.n_inputs > 1
        self.depth = self.item_depth
        self.render = item_renderer("json", form, self.depth)
        self.items = 0
        head = "[\n" if many and self.inputs == 1 else ""
        head += ",\n" if many and self.inputs > 1 else ""
        key = FORMS[form]
        self.put(head + _indent(f'{{\n  "form": {json.dumps(form)},\n  "{key}": [', self.depth))

    def chunk(self, text, n):
        if n:
            self.out.write((b",\n" if self.items else b"\n") + text)
            self.items += n

    def end(self, tail):
        out = "\n" + _indent("  ]", self.depth)
        for k, v in tail.items():
            out += ",\n" + _indent(f"  {json.dumps(k)}: {json.dumps(v)}", self.depth)
        self.put(out + "\n" + _indent("}", self.depth))

    def close(self):
        self.put("\n]\n" if self.n_inputs > 1 else "\n")


class YamlWriter(Writer):
    """render.data.to_yaml of the document (or of the list of documents), one item at a time."""

    def begin(self, form, label):
        from .data import to_yaml
        super().begin(form, label)
        self.to_yaml = to_yaml
        self.many = self.n_inputs > 1
        text = self.to_yaml({"form": form}) + FORMS[form] + ":\n"
        self.put(self._nest(text, first=True))

    def _nest(self, text: str, first: bool = False) -> str:
        """A top-level mapping's text as part of an element of the list of documents."""
        if not self.many:
            return text
        lines = text.splitlines(keepends=True)
        return "".join(("- " if first and k == 0 else "  ") + line for k, line in enumerate(lines))

    def item(self, i, model, pos):
        self.put(self._nest(self.to_yaml([model])))

    def end(self, tail):
        if tail:
            self.put(self._nest(self.to_yaml(tail)))


class KernelWriter(Writer):
    """The kernel's lines for each item (render.kernel), numbered across the whole input."""

    def __init__(self, out, n_inputs, arch, source_id, version, warn):
        super().__init__(out, n_inputs)
        self.arch, self.source_id, self.version, self.warn = arch, source_id, version, warn

    def begin(self, form, label):
        from .kernel import ItemPrinter
        super().begin(form, label)
        self.printer = ItemPrinter(form, self.arch, self.source_id, self.version,
                                   self.warn(label) if self.warn else None)

    def item(self, i, model, pos):
        lines = self.printer.item(model)
        if lines:
            self.put("\n".join(lines) + "\n")


class LibcperWriter(ChunkWriter):
    """libcper's JSON: one object for a file of one record, else a list; a list of those for several
    files. The first object is held until a second tells which (it is rendered as a list element
    and moved out by two spaces when it stays alone)."""
    fmt = "libcper"

    def begin(self, form, label):
        super().begin(form, label)
        if form == "estatus":
            raise DecodeError("libcper has no format for error status blocks (use --format json or kernel)",
                              source=label)
        self.depth = self.item_depth
        self.render = item_renderer("libcper", form, self.depth)
        if self.n_inputs > 1:
            self.put("[\n" if self.inputs == 1 else ",\n")
        self.held: Optional[bytes] = None
        self.n = 0

    def chunk(self, text, n):
        if not n:
            return
        if self.n == 0 and n == 1:
            self.held, self.n = text, 1
            return
        if self.n == 0:
            self.out.write(_indent("[", self.depth).encode() + b"\n" + text)
        else:
            if self.held is not None:
                self.out.write(_indent("[", self.depth).encode() + b"\n" + self.held)
                self.held = None
            self.out.write(b",\n" + text)
        self.n += n

    def end(self, tail):
        if self.held is not None:     # one record: the object itself, two spaces further out
            self.out.write(b"\n".join(line[2:] for line in self.held.split(b"\n")))
        else:
            self.put("\n" + _indent("]", self.depth))

    def close(self):
        self.put("\n]\n" if self.n_inputs > 1 else "\n")


class TextWriter(Writer):
    """The text tree: a title per input, one tree per item with its fields' offsets, a count."""

    def __init__(self, out, n_inputs, color):
        super().__init__(out, n_inputs)
        self.color = color

    def begin(self, form, label):
        from .text import cper_heading
        super().begin(form, label)
        self.width, self.n = 4, 0
        self.put(self._text(cper_heading(form, label)))

    def _text(self, renderable) -> str:
        from .text import tree_text
        return tree_text(renderable, self.color)

    def item(self, i, model, pos):
        """`pos`: the item's offset in the file, or None when not known (no offsets shown)."""
        from ..locate import item_offsets
        from .text import cper_item_tree
        self.n = i + 1
        offsets = None
        if pos is not None:
            if pos > 0xFFFF:
                self.width = 8
            offsets = item_offsets(self.form, i, model, pos)
        self.put(self._text(cper_item_tree(self.form, i, model, offsets, self.width)))

    def end(self, tail):
        from .text import cper_footer
        self.put(self._text(cper_footer(self.form, self.n, tail)))


def make_writer(fmt: str, out: BinaryIO, n_inputs: int, color: bool = False, arch: str = "arm64",
                source_id: int = 0, version=None, warn: Optional[Callable] = None) -> Writer:
    if fmt == "json":
        return JsonWriter(out, n_inputs)
    if fmt == "yaml":
        return YamlWriter(out, n_inputs)
    if fmt == "kernel":
        return KernelWriter(out, n_inputs, arch, source_id, version, warn)
    if fmt == "libcper":
        return LibcperWriter(out, n_inputs)
    if fmt == "text":
        return TextWriter(out, n_inputs, color)
    raise ValueError(fmt)


def stream_file(writer: Writer, f: BinaryIO, label: str, form: str,
                on_warning: Callable[[str], None]) -> int:
    """Decode one CPER file through `writer`; returns the number of items."""
    reader = ItemReader(f, label, form)
    started = False
    for i, model, warnings, pos in reader:
        if not started:
            writer.begin(form, label)
            started = True
        for w in warnings:
            on_warning(w.one_line())
        writer.item(i, model, pos)
    for w in reader.tail_warnings:
        on_warning(w.one_line())
    writer.end(reader.tail)
    return reader.count


def stream_file_parallel(writer: ChunkWriter, f: BinaryIO, label: str, form: str,
                         on_warning: Callable[[str], None], pool, jobs: int, spool: str) -> int:
    """stream_file with the windows rendered by `jobs` worker processes (bulk.decode_window), their
    output copied in input order; the last (unframed) window and the tail are read here. Returns
    the number of items."""
    import os
    from collections import deque
    from ..bulk import PARALLEL_WINDOW, decode_window, decode_window_to_file, window_source
    from ..cper.windows import windows
    state = {"items": 0, "begun": False}

    def take(result, from_file: bool) -> None:
        out, warnings, n, error = result
        if from_file:
            path = out
            out = b""
            if path:
                with open(path, "rb") as fh:
                    out = fh.read()
                os.unlink(path)
        if n and not state["begun"]:
            writer.begin(form, label)
            state["begun"] = True
        writer.chunk(out, n)
        state["items"] += n
        for w in warnings:
            on_warning(w)
        if error:
            raise DecodeError(error)

    pending: deque = deque()
    rest, end = b"", 0
    depth = writer.item_depth
    source = window_source(f)
    for k, w in enumerate(windows(f, form, label, PARALLEL_WINDOW)):
        args = (w.data, form, label, w.base, w.first, writer.fmt, depth)
        if not w.last:
            if source is not None:       # the worker reads the window from the file itself
                args = ((source, len(w.data)),) + args[1:]
            pending.append(pool.apply_async(decode_window_to_file, (args, os.path.join(spool, f"{k}.out"))))
            end = w.base + len(w.data)
            if len(pending) >= 2 * jobs:
                take(pending.popleft().get(), True)
            continue
        while pending:
            take(pending.popleft().get(), True)
        stop = _framed_end(w.data, form, label, w.base, w.first)
        take(decode_window((w.data[:stop],) + args[1:]), False)
        rest, end = w.data[stop:], w.base + stop if stop else end
    while pending:
        take(pending.popleft().get(), True)
    if not state["items"]:
        raise no_items(form, label)
    tail, tail_warnings, _off = read_tail(f, rest, end, form, label)
    for w in tail_warnings:
        on_warning(w.one_line())
    writer.end(tail)
    return state["items"]


def _framed_end(data: bytes, form: str, label: str, base: int, first: int) -> int:
    """Where the items of the last window end (iter_items stops at padding); an item that does
    not decode ends it too, and decode_window then reports it."""
    stop = 0
    try:
        for _m, _w, pos, length in iter_items(data, form, label, base, first):
            stop = pos + length
    except DecodeError:
        return len(data)
    return stop
