"""Beyond one machine: the same rows computed on a Dask cluster (dask.distributed).

What goes to a worker is a sources.Task without its bytes: (path or URL, offset, length, form, item
number, host), a few hundred bytes; the worker reads its window itself (a shared file system or an
fsspec URL) and sends back the window's rows. The client frames each file once, reading it
sequentially (cheap next to decoding) to cut it at record boundaries, and keeps at most 4 tasks per
worker in flight, so its memory stays flat whatever the input size.
"""
from __future__ import annotations

from collections import deque
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from ..errors import InputError
from .rows import COLUMNS, TABLES, Rows
from .sources import Task, plan
from .summary import Filters, frame_summary


def _need():
    from . import need
    need("dask")
    need("distributed")


def connect(scheduler: str = "local", workers: int = 2):
    """(client, cluster or None): a LocalCluster of `workers` processes for 'local', else the
    scheduler at that address."""
    _need()
    from distributed import Client, LocalCluster
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="20s"), None
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None


def run_task(task: Task) -> Tuple[Rows, List[str]]:
    return task.run()


class DaskEngine:
    """db ingest's engine on a cluster: same batches as sources.LocalEngine, computed by workers."""

    def __init__(self, scheduler: str = "local", workers: int = 2, form: Optional[str] = None, client=None):
        self.form = form
        if client is not None:
            self.client, self.cluster = client, None
        else:
            self.client, self.cluster = connect(scheduler, workers)
        self.in_flight = 4 * (len(self.client.scheduler_info().get("workers", {})) or workers)

    def batches(self, path: str, host: Optional[str]) -> Iterator[Tuple[Rows, List[str], int]]:
        pending: deque = deque()
        for task in plan(path, host, self.form, keep_data=(path == "-")):
            if path == "-":          # stdin exists only here
                rows, warnings = task.run()
                yield rows, warnings, task.length
                continue
            pending.append((self.client.submit(run_task, task.without_data(), pure=False), task.length))
            if len(pending) >= self.in_flight:
                yield self._take(pending)
        while pending:
            yield self._take(pending)

    @staticmethod
    def _take(pending: deque):
        fut, n = pending.popleft()
        rows, warnings = fut.result()
        return rows, warnings, n

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# -- the Python API ----------------------------------------------------------------------------------------

def _frame(rows: Optional[Rows], table: str):
    """One table of a window's rows as a pandas frame (None: the empty frame, the meta)."""
    import pandas as pd
    df = pd.DataFrame.from_records(rows.tables[table] if rows is not None else [], columns=COLUMNS[table])
    for col, kind in TABLES[table]:
        df[col] = df[col].astype("Int64" if kind == "int" else "string")
    return df


def decode_frames(paths: Iterable[str], host: Optional[str] = None, host_from_dir: bool = False,
                  form: Optional[str] = None) -> Dict[str, object]:
    """Every table of rows.TABLES as a dask.dataframe over the CPER files in `paths` (local paths or
    fsspec URLs): one partition per window of records (or per small file). Nothing is decoded until
    the frames are computed, on the current distributed Client's cluster (or dask's default
    scheduler)."""
    _need()
    import dask
    import dask.dataframe as dd
    from .sources import file_host
    tasks = [t.without_data() for p in paths for t in plan(p, file_host(p, host, host_from_dir), form,
                                                               keep_data=False)]
    parts = [dask.delayed(run_task)(t) for t in tasks]
    rows = [dask.delayed(lambda r: r[0])(p) for p in parts]
    out = {}
    for table in TABLES:
        out[table] = dd.from_delayed([dask.delayed(_frame)(r, table) for r in rows], meta=_frame(None, table),
                                     verify_meta=False)
    return out


def read_parquet(folder: str) -> Dict[str, object]:
    """The tables of a dataset written by `decode -f parquet` as dask dataframes."""
    _need()
    import dask.dataframe as dd
    out = {}
    for table in TABLES:
        path = folder.rstrip("/") + f"/{table}/*/*.parquet"
        try:
            out[table] = dd.read_parquet(path, dtype_backend="numpy_nullable")
        except (OSError, ValueError, IndexError) as e:
            raise InputError(f"not an apeitool Parquet dataset (no {table}/): {e}", source=folder) from None
    return out


def parquet_summary(folder: str, f: Filters, scheduler: str = "local", workers: int = 2) -> dict:
    """db summary on a Parquet dataset, computed on Dask."""
    frames = read_parquet(folder)
    client, cluster = connect(scheduler, workers)
    try:
        return frame_summary(frames["records"], frames["sections"], f)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
