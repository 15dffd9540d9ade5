"""Fleets: CPER records from many hosts as rows (rows.py), an SQLite error database (db.py) with
rasdaemon's tables (rasdaemon.py), Parquet datasets (parquet.py) and Dask (dask.py) beyond one
machine. pyarrow and dask are optional (`pip install 'apeitool[fleet]'`)."""
