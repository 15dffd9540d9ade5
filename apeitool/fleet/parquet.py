"""The fleet rows as a Parquet dataset (pyarrow): DIR/<table>/<partition>/part-N.parquet, one folder
per table of rows.TABLES, partitioned by host or day (the folder is the value; the column stays in
the files, so every reader sees the same columns). Written window by window
into a temporary folder renamed to DIR at the end: memory stays flat, and DIR is whole or absent.
Small files' rows gather into shared row groups; a big file streams into parts of its own (see
ParquetSink)."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Callable, Dict, Iterable, Optional, Tuple

from ..errors import ApeiError, InputError
from .rows import COLUMNS, TABLES, Rows

PARTITIONS = ("host", "day", "none")
NULL_PART = "__none__"


def arrow_schema(table: str):
    import pyarrow as pa
    kinds = {"text": pa.string(), "int": pa.int64()}
    return pa.schema([(c, kinds[t]) for c, t in TABLES[table]])


def _part_name(value) -> str:
    if value is None:
        return NULL_PART
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(value)) or NULL_PART


FLUSH = 20000        # items of small files gathered into one row group


class ParquetSink:
    """Writers per (table, partition, part name). Small files' rows gather in memory until FLUSH items,
    then go out as one row group of the shared part; a file bigger than that streams into parts of its
    own, removed if the file fails: a bad file never leaves rows behind."""

    def __init__(self, folder: str, partition_by: str = "host"):
        if partition_by not in PARTITIONS:
            raise InputError(f"--partition-by is one of {', '.join(PARTITIONS)}")
        self.folder, self.partition_by = folder, partition_by
        self.writers: Dict[Tuple[str, str, str], object] = {}
        self.schemas = {t: arrow_schema(t) for t in TABLES}
        self.rows_written = 0
        self.buffer = Rows()

    def _part_of(self, rows: Rows) -> Dict[str, str]:
        """The partition of each item (by key): sections follow their record."""
        if self.partition_by == "none":
            return {}
        at = COLUMNS["records"].index(self.partition_by)
        return {r[0]: _part_name(r[at]) for r in rows.tables["records"]}

    def write(self, rows: Rows, name: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq
        parts = self._part_of(rows)
        for table, batch in rows.tables.items():
            if not batch:
                continue
            groups: Dict[str, list] = {}
            for r in batch:
                groups.setdefault(parts.get(r[0], "all"), []).append(r)
            for part, items in groups.items():
                cols = list(zip(*items))
                arrays = [pa.array(list(col), type=f.type) for col, f in zip(cols, self.schemas[table])]
                t = pa.Table.from_arrays(arrays, schema=self.schemas[table])
                w = self.writers.get((table, part, name))
                if w is None:
                    d = os.path.join(self.folder, table, part)
                    os.makedirs(d, exist_ok=True)
                    w = self.writers[(table, part, name)] = pq.ParquetWriter(
                        os.path.join(d, f"part-{name}.parquet"), self.schemas[table])
                w.write_table(t)
        self.rows_written += len(rows)

    def file(self, batches: Iterable[Rows], index: int) -> None:
        """One input file's batches; nothing of it stays if they raise."""
        pending, own, before = Rows(), None, self.rows_written
        try:
            for rows in batches:
                if own is None:
                    pending.extend(rows)
                    if len(pending) >= FLUSH:
                        own = f"f{index}"
                        self.write(pending, own)
                else:
                    self.write(rows, own)
        except BaseException:
            if own is not None:
                self._drop(own)
                self.rows_written = before
            raise
        if own is None:
            self.buffer.extend(pending)
            if len(self.buffer) >= FLUSH:
                self.flush()
        else:
            self._close(own)

    def flush(self) -> None:
        if len(self.buffer):
            self.write(self.buffer, "0")
            self.buffer = Rows()

    def _close(self, name: str) -> None:
        for k in [k for k in self.writers if k[2] == name]:
            self.writers.pop(k).close()

    def _drop(self, name: str) -> None:
        for k in [k for k in self.writers if k[2] == name]:
            self.writers.pop(k).close()
            os.unlink(os.path.join(self.folder, k[0], k[1], f"part-{name}.parquet"))

    def close(self) -> None:
        self.flush()
        for w in self.writers.values():
            w.close()
        self.writers.clear()
        for table in TABLES:          # an empty table is still a table: one empty file
            d = os.path.join(self.folder, table)
            if not os.path.isdir(d):
                import pyarrow.parquet as pq
                os.makedirs(os.path.join(d, "all"))
                pq.write_table(self.schemas[table].empty_table(), os.path.join(d, "all", "part-0.parquet"))


def write_dataset(paths: Iterable[str], out_dir: str, host: Optional[str] = None, host_from_dir: bool = False,
                  partition_by: str = "host", form: Optional[str] = None,
                  warn: Callable[[str], None] = lambda s: None,
                  on_error: Optional[Callable[[str], None]] = None) -> int:
    """Decode every path into a Parquet dataset at out_dir (replaced whole); returns the items written.
    A file that fails is reported through on_error (its rows left out), or raises without it."""
    from .sources import LocalEngine, failure_line, file_host
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise InputError("exists and is not a folder", source=out_dir)
    parent = os.path.dirname(os.path.abspath(out_dir))
    tmp = tempfile.mkdtemp(prefix=".parquet-", dir=parent)
    sink = ParquetSink(tmp, partition_by)
    engine = LocalEngine(form)

    def batches(path, h):
        for rows, warnings, _n in engine.batches(path, h):
            for w in warnings:
                warn(w)
            yield rows
    try:
        for i, path in enumerate(paths):
            try:
                sink.file(batches(path, file_host(path, host, host_from_dir)), i)
            except (ApeiError, OSError) as e:
                if on_error is None:
                    raise
                on_error(failure_line(path, e))
        sink.close()
        if os.path.isdir(out_dir):
            old = out_dir.rstrip("/") + f".old-{os.getpid()}"
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        for w in sink.writers.values():
            w.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sink.rows_written
