"""Bulk decoding: `decode -f jsonl` over windows of records, --jobs, errors with file offsets."""
from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

import apeitool
from apeitool.cli import main
from apeitool.cper import decode_document
from apeitool.cper.windows import trailing_bytes, windows
from apeitool.gen import mixed_records


@pytest.fixture(scope="module")
def records():
    return [r for _k, r in mixed_records(60, seed=4)]


def _run(*args):
    return CliRunner().invoke(main, ["decode", *map(str, args)])


def test_windows_hold_whole_records_at_any_size(records):
    blob = b"".join(records)
    for size in (1, 300, 4096, 1 << 20):
        parts = list(windows(io.BytesIO(blob), "record", "t", size))
        assert b"".join(w.data for w in parts) == blob
        assert all(not w.last for w in parts)
        starts, pos = [], 0
        for r in records:
            starts.append(pos)
            pos += len(r)
        for w in parts:                   # every window starts on a record, numbered from there
            assert starts[w.first] == w.base


def test_jsonl_lines_are_the_records_in_order_with_and_without_jobs(tmp_path, records):
    path = tmp_path / "r.cper"
    path.write_bytes(b"".join(records))
    one = _run("-f", "jsonl", path)
    two = _run("-f", "jsonl", "--jobs", "2", path)
    assert one.exit_code == 0 and two.exit_code == 0
    assert one.output == two.output
    lines = [json.loads(x) for x in one.output.splitlines()]
    expected = [decode_document(r)[0]["records"][0] for r in records]
    assert lines == json.loads(json.dumps(expected))
    assert apeitool.build({"records": lines}, "cper") == path.read_bytes()


def test_jsonl_error_names_the_file_offset_and_leaves_no_output(tmp_path, records):
    blob = bytearray(b"".join(records))
    bad_at = sum(len(r) for r in records[:7])
    blob[bad_at + 20:bad_at + 24] = (0xFFFFF).to_bytes(4, "little")     # record 7's length lies
    path = tmp_path / "bad.cper"
    path.write_bytes(bytes(blob))
    out = tmp_path / "out.jsonl"
    result = _run("-f", "jsonl", path, "-o", out)
    assert result.exit_code == 2 and not out.exists()
    line = result.output.strip()
    assert "\n" not in line and f"offset 0x{bad_at + 20:X}" in line and "records[7].header.record_length" in line


def test_status_blocks_padding_and_trailing_bytes(tmp_path):
    from apeitool.cli import memory_error_spec
    block = apeitool.build(memory_error_spec(0x1000, "recoverable", True), "estatus")
    path = tmp_path / "region.bin"
    path.write_bytes(block * 3 + bytes(5000))
    result = _run("-f", "jsonl", path)
    assert result.exit_code == 0 and len(result.output.splitlines()) == 3
    assert trailing_bytes(io.BytesIO(bytes(100))) == 0 and trailing_bytes(io.BytesIO(bytes(10) + b"\x01")) == 11


def test_jsonl_of_tables_and_misuse(tmp_path):
    hest = tmp_path / "hest.aml"
    hest.write_bytes(apeitool.build({"sources": [{"type": "GHES", "source_id": 0, "notify": {"type": "SCI"}}]},
                                    "hest"))
    result = _run("-f", "jsonl", hest, hest)
    assert result.exit_code == 0
    assert [json.loads(x)["header"]["signature"] for x in result.output.splitlines()] == ["HEST", "HEST"]
    assert _run("--jobs", "2", hest).exit_code == 2        # --jobs goes with jsonl


def _spool_run(tmp_path, monkeypatch, blob, out):
    """decode_paths with --jobs 2 over many small windows; the workers' spool folder under tmp_path."""
    from apeitool import bulk
    spool_root = tmp_path / "spool"
    spool_root.mkdir()
    monkeypatch.setattr(bulk, "PARALLEL_WINDOW", 2048)
    monkeypatch.setattr(bulk.tempfile, "tempdir", str(spool_root))
    src = tmp_path / "many.cper"
    src.write_bytes(blob)
    warnings = []
    try:
        return bulk.decode_paths([str(src)], out, warnings.append, jobs=2), warnings
    finally:
        assert list(spool_root.iterdir()) == []        # the workers' files and folder are gone


def test_jobs_copy_worker_files_out_in_order_to_a_file_and_to_a_file_like(tmp_path, monkeypatch, records):
    blob = b"".join(records) * 3
    expected = io.BytesIO()
    from apeitool.bulk import decode_paths
    (tmp_path / "one.cper").write_bytes(blob)
    assert decode_paths([str(tmp_path / "one.cper")], expected, print) == len(records) * 3
    with open(tmp_path / "out.jsonl", "wb") as out:             # a descriptor: sendfile
        n, _w = _spool_run(tmp_path, monkeypatch, blob, out)
    assert n == len(records) * 3 and (tmp_path / "out.jsonl").read_bytes() == expected.getvalue()
    buf = io.BytesIO()                                          # no descriptor: copied
    (tmp_path / "b").mkdir()
    n, _w = _spool_run(tmp_path / "b", monkeypatch, blob, buf)
    assert buf.getvalue() == expected.getvalue()


def test_jobs_error_in_a_later_window_stops_with_the_offset_and_cleans_up(tmp_path, monkeypatch, records):
    from apeitool.errors import DecodeError
    blob = bytearray(b"".join(records) * 3)
    bad = len(records) * 2 + 5
    bad_at = sum(len(r) for r in (records * 3)[:bad])
    blob[bad_at + 20:bad_at + 24] = (0xFFFFF).to_bytes(4, "little")
    with pytest.raises(DecodeError) as e:
        _spool_run(tmp_path, monkeypatch, bytes(blob), io.BytesIO())
    assert f"offset 0x{bad_at + 20:X}" in e.value.one_line() and f"records[{bad}]" in e.value.one_line()


def test_jobs_copy_falls_back_when_sendfile_refuses_part_way(tmp_path, monkeypatch, records):
    """A descriptor sendfile gives up on after some bytes: the rest is copied, nothing lost or doubled."""
    import os
    from apeitool import bulk
    blob = b"".join(records) * 2
    expected = io.BytesIO()
    (tmp_path / "one.cper").write_bytes(blob)
    bulk.decode_paths([str(tmp_path / "one.cper")], expected, print)
    real, calls = os.sendfile, []

    def flaky(out_fd, in_fd, offset, count):
        calls.append(offset)
        if len(calls) % 2:
            return real(out_fd, in_fd, offset, min(count, 100))
        raise OSError(22, "Invalid argument")
    monkeypatch.setattr(bulk.os, "sendfile", flaky)
    with open(tmp_path / "out.jsonl", "wb") as out:
        _spool_run(tmp_path, monkeypatch, blob, out)
    assert calls and (tmp_path / "out.jsonl").read_bytes() == expected.getvalue()
