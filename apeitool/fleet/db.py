"""The error database: decoded CPER items in SQLite (the standard library's sqlite3).

Tables are rows.TABLES with primary keys (records: key; the others: key, idx), so an item already
present is ignored (INSERT OR IGNORE on the content hash): re-ingesting is a no-op. Each input file
is one transaction, recorded in `files` when it commits: an interrupted ingest leaves the database as
it was after the last whole file, and the next run skips files already done (same path, size,
modification time and host). A file that fails to decode is rolled back, reported and recorded as
failed; the other files go on.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, List, Optional, Tuple

from ..errors import ApeiError, InputError
from .rows import COLUMNS, TABLES, Rows

SCHEMA_VERSION = 1
SQL_TYPES = {"text": "TEXT", "int": "INTEGER"}
# covering indexes for db summary's group-bys (records rows carry the whole model: scanning them reads
# gigabytes), and the columns people look things up by
INDEXES = [("records_time", "records", ("timestamp", "host", "severity")),
           ("records_host", "records", ("host", "timestamp", "severity")),
           ("sections_component", "sections", ("component_kind", "component", "host", "timestamp")),
           ("sections_type", "sections", ("section_type", "severity")),
           ("memory_errors_address", "memory_errors", ("physical_address",)),
           ("pcie_errors_bdf", "pcie_errors", ("bdf",)), ("processor_errors_cpu", "processor_errors", ("cpu",))]


def _ddl() -> List[str]:
    out = []
    for table, cols in TABLES.items():
        body = ", ".join(f'"{c}" {SQL_TYPES[t]}' for c, t in cols)
        if table == "records":      # big rows (the model): a rowid table, the key a unique index
            out.append(f"CREATE TABLE IF NOT EXISTS {table} ({body}, UNIQUE (key))")
        else:                       # small rows: clustered on their key
            out.append(f"CREATE TABLE IF NOT EXISTS {table} ({body}, PRIMARY KEY (key, idx)) WITHOUT ROWID")
    for name, table, cols in INDEXES:
        out.append(f'CREATE INDEX IF NOT EXISTS {name} ON {table} ({", ".join(chr(34) + c + chr(34) for c in cols)})')
    out.append("CREATE TABLE IF NOT EXISTS files (path TEXT, host TEXT, size INTEGER, mtime_ns INTEGER, "
               "status TEXT, items INTEGER, new_items INTEGER, error TEXT, ingested_at TEXT, "
               "PRIMARY KEY (path, host))")
    out.append("CREATE TABLE IF NOT EXISTS apeitool_meta (name TEXT PRIMARY KEY, value TEXT)")
    return out


def open_db(path: str, readonly: bool = False) -> sqlite3.Connection:
    """A connection to an apeitool error database: made, with its tables, if missing; with
    `readonly`, an existing one, refused (one line) if it is not apeitool's."""
    if readonly and not os.path.exists(path):
        raise InputError(f"no such database (make one with 'apeitool db ingest --db {path} FILES')",
                         source=path)
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{_uri_path(path)}?mode=ro", uri=True, isolation_level=None)
        else:
            conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-65536")      # 64 MiB: the indexes of a big ingest stay in memory
        version = _schema_version(conn)
        if readonly:
            if version is None:
                conn.close()
                raise InputError("not an apeitool error database (no apeitool_meta table; a rasdaemon "
                                 "database is read with 'apeitool db ingest')", source=path)
            return conn
        if version is not None and version != SCHEMA_VERSION:
            raise InputError(f"database schema {version}, this apeitool writes {SCHEMA_VERSION}", source=path)
        conn.execute("BEGIN")
        for stmt in _ddl():
            conn.execute(stmt)
        conn.execute("INSERT OR REPLACE INTO apeitool_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as e:
        raise InputError(f"cannot use the database: {e}", source=path) from None
    return conn


def _uri_path(path: str) -> str:
    from urllib.parse import quote
    return quote(os.path.abspath(path))


def _schema_version(conn) -> Optional[int]:
    try:
        row = conn.execute("SELECT value FROM apeitool_meta WHERE name='schema_version'").fetchone()
    except sqlite3.OperationalError:
        return None
    return int(row[0]) if row else None


def _insert_sql(table: str) -> str:
    cols = COLUMNS[table]
    return f"INSERT OR IGNORE INTO {table} ({', '.join(chr(34) + c + chr(34) for c in cols)}) " \
           f"VALUES ({', '.join('?' * len(cols))})"


_INSERTS = {t: _insert_sql(t) for t in TABLES}


def insert_rows(conn: sqlite3.Connection, rows: Rows) -> int:
    """Insert one batch (inside the caller's transaction); returns how many records were new."""
    before = conn.total_changes
    conn.executemany(_INSERTS["records"], rows.tables["records"])
    new = conn.total_changes - before
    for table, batch in rows.tables.items():
        if table != "records" and batch:
            conn.executemany(_INSERTS[table], batch)
    return new


# -- ingest ----------------------------------------------------------------------------------------------

@dataclass
class FileResult:
    path: str
    status: str                 # "done", "skipped" (already ingested), "failed"
    items: int = 0
    new_items: int = 0
    error: str = ""


@dataclass
class IngestStats:
    files: List[FileResult] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(f.items for f in self.files)

    @property
    def new_items(self) -> int:
        return sum(f.new_items for f in self.files)

    @property
    def failed(self) -> List[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    def as_dict(self) -> dict:
        return {"files": len(self.files), "items": self.items, "new_items": self.new_items,
                "skipped_files": sum(f.status == "skipped" for f in self.files),
                "failed_files": [{"path": f.path, "error": f.error} for f in self.failed]}


def ingest(db: str, paths: Iterable[str], host: Optional[str] = None, host_from_dir: bool = False,
           engine=None, warn: Callable[[str], None] = lambda s: None,
           progress: Optional[Callable[[int], None]] = None, form: Optional[str] = None) -> IngestStats:
    """Ingest every path into the database at `db`. `engine` turns (path, host) into batches of Rows
    (default: this process; fleet.dask.DaskEngine for a cluster); `progress` is told bytes done."""
    from .sources import LocalEngine, file_host
    engine = engine or LocalEngine(form=form)
    conn = open_db(db)
    stats = IngestStats()
    try:
        for path in paths:
            h = file_host(path, host, host_from_dir)
            stat = _stat(path)
            if stat is not None and _already(conn, path, h, stat):
                stats.files.append(FileResult(path, "skipped"))
                if progress:
                    progress(stat[0])
                continue
            stats.files.append(_ingest_one(conn, engine, path, h, stat, warn, progress))
    finally:
        conn.close()
    return stats


def _stat(path: str) -> Optional[Tuple[int, int]]:
    from .sources import is_local
    if not is_local(path):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _already(conn, path, host, stat) -> bool:
    row = conn.execute("SELECT size, mtime_ns FROM files WHERE path=? AND host IS ? AND status='done'",
                       (_file_key(path), host)).fetchone()
    return row is not None and tuple(row) == stat


def _ingest_one(conn, engine, path, host, stat, warn, progress) -> FileResult:
    result = FileResult(path, "done")
    conn.execute("BEGIN")
    try:
        for rows, warnings, done in engine.batches(path, host):
            for w in warnings:
                warn(w)
            result.items += len(rows)
            result.new_items += insert_rows(conn, rows)
            if progress and done:
                progress(done)
    except (ApeiError, OSError) as e:
        from .sources import failure_line
        conn.execute("ROLLBACK")
        result = FileResult(path, "failed", error=failure_line(path, e))
        _record_file(conn, path, host, stat, result)
        return result
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    _record_file(conn, path, host, stat, result, in_txn=True)
    conn.execute("COMMIT")
    return result


def _file_key(path: str) -> str:
    """How the files table names a file: local paths absolute, stdin and URLs as given."""
    from .sources import is_local
    return os.path.abspath(path) if is_local(path) else path


def _record_file(conn, path, host, stat, result: FileResult, in_txn: bool = False) -> None:
    size, mtime = stat if stat else (None, None)
    sql = "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    args = (_file_key(path), host, size, mtime,
            result.status, result.items, result.new_items, result.error or None,
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()))
    if not in_txn:
        conn.execute("BEGIN")
    conn.execute(sql, args)
    if not in_txn:
        conn.execute("COMMIT")


def read_tables(conn: sqlite3.Connection, tables: Iterable[str] = TABLES) -> Iterator[Tuple[str, list]]:
    """(table, rows sorted by primary key) for comparing two databases."""
    for t in tables:
        order = "key" if t == "records" else "key, idx"
        cols = ", ".join(f'"{c}"' for c in COLUMNS[t])
        yield t, conn.execute(f"SELECT {cols} FROM {t} ORDER BY {order}").fetchall()
