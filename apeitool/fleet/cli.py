"""`apeitool db`: thin commands over apeitool.fleet (imported only when `db` runs)."""
from __future__ import annotations

import json
import os
import sys

import click

from ..cli import ApeiGroup, _fail, _warner
from .sources import is_local


def expand(paths):
    """Files as given; directories walked (sorted, hidden entries skipped)."""
    for p in paths:
        if is_local(p) and os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield p


@click.group("db", cls=ApeiGroup)
def db_group():
    """An error database for fleets: CPER records from many hosts in SQLite.

    \b
    Examples:
      apeitool db ingest --db errors.sqlite --host-from-dir fleet/     # fleet/<host>/*.cper
      apeitool db summary --db errors.sqlite --since 2026-11-01
      apeitool db query --db errors.sqlite "SELECT bdf, count(*) FROM pcie_errors GROUP BY bdf"
      apeitool db ingest --db errors.sqlite --engine dask --scheduler local fleet/
      apeitool db summary --parquet fleet-parquet/              # from decode -f parquet, on Dask
    """


@db_group.command("ingest")
@click.argument("files", nargs=-1, required=True)
@click.option("--db", "db_path", required=True, metavar="FILE", help="The database (made if missing).")
@click.option("--host", metavar="NAME", help="The host the records come from.")
@click.option("--host-from-dir", is_flag=True, help="Each file's host is the name of its folder.")
@click.option("--as", "form", type=click.Choice(["record", "estatus", "section"]),
              help="Say which CPER form the files are (default: detected).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Decode in this process, or on a Dask cluster (files and record windows are its tasks).")
@click.option("--scheduler", default="local", show_default=True, metavar="ADDR|local",
              help="--engine dask: a scheduler address (tcp://host:8786), or 'local' for a LocalCluster here.")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True,
              help="--scheduler local: the LocalCluster's worker processes.")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No decode warnings, no progress bar.")
def ingest_command(files, db_path, host, host_from_dir, form, engine, scheduler, workers, fmt, quiet):
    """Decode CPER records into the error database.

    FILES are CPER records, error status blocks, BERT regions, descriptor+body
    sections (raw or hex dumps), apeitool's JSON / JSON Lines, libcper's JSON, or
    a rasdaemon database (ras-mc_event.db) from a host; folders are walked.
    Re-ingesting a record is a no-op (its content hash is its key). Each file is
    one transaction: an interrupted ingest resumes after the last whole file, and
    a file that fails is reported, left out and the others go on (exit 1).

    \b
    Examples:
      apeitool db ingest --db errors.sqlite records.cper
      apeitool db ingest --db errors.sqlite --host node17 bert-region.bin
      apeitool db ingest --db errors.sqlite --host-from-dir fleet/
      apeitool db ingest --db errors.sqlite --host node17 /var/lib/rasdaemon/ras-mc_event.db
      apeitool db ingest --db errors.sqlite --engine dask --scheduler tcp://10.0.0.1:8786 s3://bucket/ras/
    """
    from .db import ingest
    paths = list(expand(files))
    warn = _warner(quiet)
    runner = None
    if engine == "dask":
        from .dask import DaskEngine
        runner = DaskEngine(scheduler, workers, form=form)
    progress = None
    bar = None
    if not quiet and sys.stderr.isatty():
        from rich.progress import Progress
        total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
        bar = Progress(transient=True)
        task = bar.add_task("ingesting", total=total or None)
        bar.start()
        progress = lambda n: bar.advance(task, n)     # noqa: E731
    try:
        stats = ingest(db_path, paths, host, host_from_dir, runner, warn or (lambda s: None), progress, form)
    finally:
        if bar is not None:
            bar.stop()
        if runner is not None:
            runner.close()
    for f in stats.failed:
        click.echo(f"apeitool: error: {f.error} (file left out)", err=True)
    if fmt == "json":
        click.echo(json.dumps(stats.as_dict(), indent=2))
    else:
        d = stats.as_dict()
        click.echo(f"{d['items']} items read, {d['new_items']} new, from {d['files']} file(s)"
                   f"{', ' + str(d['skipped_files']) + ' already ingested' if d['skipped_files'] else ''}"
                   f"{', ' + str(len(d['failed_files'])) + ' failed' if d['failed_files'] else ''} -> {db_path}")
    if stats.failed:
        sys.exit(1)


@db_group.command("summary")
@click.option("--db", "db_path", metavar="FILE", help="The SQLite database to summarise.")
@click.option("--parquet", "parquet_dir", metavar="DIR|URL",
              help="Summarise a Parquet dataset (decode -f parquet) on Dask instead.")
@click.option("--scheduler", default="local", show_default=True, metavar="ADDR|local",
              help="--parquet: where Dask computes.")
@click.option("--since", metavar="TIME", help="Only records at or after TIME (ISO: 2026-11-01 or 2026-11-01T08:00).")
@click.option("--until", metavar="TIME", help="Only records at or before TIME.")
@click.option("--host", metavar="NAME", help="Only this host's records.")
@click.option("--window", type=click.Choice(["hour", "day", "month"]), default="day", show_default=True,
              help="The time window of the timeline.")
@click.option("--top", type=click.IntRange(1, 100000), default=10, show_default=True,
              help="Components listed per kind.")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def summary_command(db_path, parquet_dir, scheduler, since, until, host, window, top, fmt):
    """Counts per severity and section type, the most failing components (DIMM
    location, PCIe device, CPU, CXL device) and a timeline, like ras-mc-ctl
    --summary for a fleet. Records without a valid timestamp count in the totals
    but not in --since/--until.

    \b
    Examples:
      apeitool db summary --db errors.sqlite
      apeitool db summary --db errors.sqlite --host node17 --window hour -f json
      apeitool db summary --parquet fleet-parquet/ --since 2026-11-01
    """
    from .summary import Filters, render_text, sql_summary
    if bool(db_path) == bool(parquet_dir):
        raise click.UsageError("give --db FILE or --parquet DIR")
    until = until + "\uffff" if until and len(until) < 19 else until     # a date or hour covers its whole span
    f = Filters(since, until, host, window, top)
    if db_path:
        from .db import open_db
        conn = open_db(db_path, readonly=True)
        try:
            result = sql_summary(conn, f)
        finally:
            conn.close()
    else:
        from .dask import parquet_summary
        result = parquet_summary(parquet_dir, f, scheduler)
    if fmt == "json":
        result["filters"]["until"] = until[:-1] if until and until.endswith("\uffff") else until
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(render_text(result), nl=False)


@db_group.command("query")
@click.argument("sql")
@click.option("--db", "db_path", required=True, metavar="FILE")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
def query_command(sql, db_path, fmt):
    """Run SQL on the database (read-only). Tables: records, sections,
    memory_errors, pcie_errors, processor_errors, cxl_errors, files (see man
    apeitool-db for the columns).

    \b
    Examples:
      apeitool db query --db errors.sqlite "SELECT component, count(*) n FROM sections GROUP BY 1 ORDER BY n DESC"
      apeitool db query --db errors.sqlite -f json "SELECT * FROM memory_errors WHERE dimm LIKE 'node 0 %'"
      apeitool db query --db errors.sqlite -f csv "SELECT day, count(*) FROM records GROUP BY day" > per-day.csv
    """
    import sqlite3
    from .db import open_db
    conn = open_db(db_path, readonly=True)
    try:
        cur = conn.execute(sql)
        cols = [d[0] for d in cur.description or ()]
        rows = cur.fetchall()
    except sqlite3.Error as e:
        _fail(f"{db_path}: SQL: {e}")
    finally:
        conn.close()
    show = [[v.hex() if isinstance(v, bytes) else v for v in r] for r in rows]
    if fmt == "json":
        click.echo(json.dumps([dict(zip(cols, r)) for r in show], indent=2))
    elif fmt == "csv":
        import csv
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(cols)
        w.writerows(show)
    else:
        text = [["NULL" if v is None else str(v) for v in r] for r in show]
        widths = [max([len(c)] + [len(r[i]) for r in text]) for i, c in enumerate(cols)]
        click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
        for r in text:
            click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
