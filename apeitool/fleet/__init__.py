"""Fleets: CPER records from many hosts as rows (rows.py), an SQLite error database (db.py) with
rasdaemon's tables (rasdaemon.py), Parquet datasets (parquet.py) and Dask (dask.py) beyond one
machine. pyarrow and dask are optional (`pip install 'apeitool[fleet]'`).

    from apeitool import fleet
    fleet.ingest("errors.sqlite", ["fleet/node1/errors.cper"], host="node1")
    fleet.db_summary("errors.sqlite", fleet.Filters(since="2026-11-01"))
    frames = fleet.decode_frames(["s3://bucket/node1/errors.cper"], host="node1")   # dask.dataframes
"""
from __future__ import annotations

_EXPORTS = {"ingest": ("db", "ingest"), "open_db": ("db", "open_db"), "Filters": ("summary", "Filters"),
            "decode_frames": ("dask", "decode_frames"), "read_parquet": ("dask", "read_parquet"),
            "parquet_summary": ("dask", "parquet_summary"), "write_dataset": ("parquet", "write_dataset"),
            "TABLES": ("rows", "TABLES")}
__all__ = sorted(_EXPORTS) + ["db_summary"]


def __getattr__(name):
    """Lazy: importing apeitool.fleet costs nothing until a name is used (dask and pyarrow are big)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    module, attr = _EXPORTS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), attr)


def need(module: str):
    """Import an optional dependency, or say (one line) which extra installs it."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        from ..errors import InputError
        raise InputError(f"this needs {module.split('.')[0]}: pip install 'apeitool[fleet]'") from None


def db_summary(db: str, filters=None) -> dict:
    """db summary of an SQLite error database, as a dict."""
    from .db import open_db
    from .summary import Filters, sql_summary
    conn = open_db(db, readonly=True)
    try:
        return sql_summary(conn, filters or Filters())
    finally:
        conn.close()
