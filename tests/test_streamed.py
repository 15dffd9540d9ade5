"""decode streams CPER files item by item in every format, and the output is byte for byte what
rendering the whole document gives (cli.render_decoded)."""
import random
import resource
import subprocess
import sys

import pytest
from click.testing import CliRunner

import apeitool
from apeitool.cli import main, render_decoded
from apeitool.gen import block_spec, record_spec
from apeitool.schemas.sections import BODIES
from conftest import CORPUS

FORMATS = ["json", "yaml", "kernel", "text", "libcper"]


def _records(n, seed, tail=b""):
    rng = random.Random(seed)
    keys = sorted(BODIES)
    raw = b"".join(apeitool.build({"records": [record_spec(rng, keys)]}, "cper") for _ in range(n))
    return raw + tail


def _blocks(n, seed, tail=b""):
    rng = random.Random(seed)
    keys = sorted(BODIES)
    return b"".join(apeitool.build({"blocks": [block_spec(rng, keys)]}, "estatus") for _ in range(n)) + tail


def _inputs(tmp_path):
    files = {
        "one.cper": _records(1, 1),
        "many.cper": _records(60, 2),
        "padded.cper": _records(5, 3, bytes(300)),
        "blocks-trailing.bin": _blocks(4, 4, bytes(16) + b"\x01garbage" + bytes(7)),
        "blocks.bin": _blocks(20, 5),
        "blocks-padded.bin": _blocks(3, 6, bytes(64)),
    }
    if (CORPUS / "libcper").is_dir():
        files["libcper.cper"] = b"".join(p.read_bytes() for p in sorted((CORPUS / "libcper").glob("allvalid-*.cper")))
    out = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        out[name] = str(tmp_path / name)
    return out


def _whole(paths, fmt, **kw):
    results = [d for p in paths for d in apeitool.decode(p)]
    return render_decoded(results, fmt, False, kw.get("arch", "arm64"), 0, None, True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_streamed_output_is_the_whole_documents_output(tmp_path, fmt):
    files = _inputs(tmp_path)
    runner = CliRunner()
    groups = [[p] for p in files.values()] + [[files["many.cper"], files["padded.cper"]],
                                               [files["one.cper"], files["blocks.bin"], files["blocks-trailing.bin"]]]
    for paths in groups:
        if fmt == "libcper" and any("blocks" in p for p in paths):
            continue                   # libcper has no status block format (tested below)
        for arch in ("arm64", "x86_64"):
            r = runner.invoke(main, ["decode", "-q", "-f", fmt, "--arch", arch, *paths])
            assert r.exit_code == 0, (paths, r.output)
            assert r.output == _whole(paths, fmt, arch=arch), (paths, arch)


def test_streamed_text_has_offsets_counted_in_the_file(tmp_path):
    files = _inputs(tmp_path)
    r = CliRunner().invoke(main, ["decode", "-q", files["padded.cper"]])
    assert r.exit_code == 0
    assert r.output.rstrip().endswith("5 CPER records, then 300 zero bytes of padding")


def test_a_bad_file_among_several_is_reported_and_the_others_stream(tmp_path):
    files = _inputs(tmp_path)
    bad = tmp_path / "bad.cper"
    bad.write_bytes(b"CPER" + bytes(200))           # a record header whose length is 0
    out = tmp_path / "out.json"
    r = CliRunner().invoke(main, ["decode", "-f", "json", files["one.cper"], str(bad), files["many.cper"],
                                  "-o", str(out)])
    assert r.exit_code == 2 and "bad.cper" in r.output
    import json
    docs = json.loads(out.read_text())
    assert [len(d["records"]) for d in docs] == [1, 60]


def test_a_file_failing_part_way_leaves_no_output_file(tmp_path):
    good = _records(30, 7)
    broken = bytearray(good + good)
    broken[len(good) + 20:len(good) + 24] = (1 << 30).to_bytes(4, "little")   # a length that lies
    path = tmp_path / "broken.cper"
    path.write_bytes(bytes(broken))
    out = tmp_path / "out.json"
    r = CliRunner().invoke(main, ["decode", "-f", "json", str(path), "-o", str(out)])
    assert r.exit_code == 2 and "broken.cper" in r.output and "Traceback" not in r.output
    assert not out.exists() and not list(tmp_path.glob(".apeitool-*"))


def test_libcper_refuses_status_blocks_in_one_line(tmp_path):
    files = _inputs(tmp_path)
    r = CliRunner().invoke(main, ["decode", "-f", "libcper", files["blocks.bin"]])
    assert r.exit_code == 2 and "status blocks" in r.output


@pytest.mark.parametrize("fmt", ["json", "kernel", "libcper", "text"])
def test_every_format_streams_in_flat_memory(tmp_path, fmt):
    """Peak RSS of a whole process barely moves from a small input to one 8 times larger: the
    output is written as the input is read (the 1 GiB figures are in bench/memory.py)."""
    small, large = tmp_path / "small.cper", tmp_path / "large.cper"
    unit = _records(200, 8)
    small.write_bytes(unit * 4)
    large.write_bytes(unit * 32)
    peaks = []
    for path in (small, large):
        probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
                 "check=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        r = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "apeitool", "decode", "-q",
                            "-f", fmt, str(path)], capture_output=True, text=True, check=True)
        peaks.append(int(r.stdout) / 1024)
    assert peaks[1] < peaks[0] + 15, peaks      # MiB; the whole document would grow by ~10x
    assert resource  # noqa: (imported for the probe's sake)


def test_validate_streams_with_the_whole_documents_findings(tmp_path):
    from apeitool.validate import validate_bytes, validate_path
    files = _inputs(tmp_path)
    odd = bytearray(_records(6, 9))
    odd[8:12] = (0x1234).to_bytes(4, "little")                # Signature End not 0xFFFFFFFF
    (tmp_path / "odd.cper").write_bytes(bytes(odd))
    files["odd.cper"] = str(tmp_path / "odd.cper")
    for name, path in files.items():
        data = open(path, "rb").read()
        whole = [f.to_dict() if hasattr(f, "to_dict") else vars(f) for f in validate_bytes(data, path)]
        streamed = [f.to_dict() if hasattr(f, "to_dict") else vars(f) for f in validate_path(path)]
        assert streamed == whole, name
    assert any(f.rule == "CPER.SIGNATURE_END" and f.path == "records[0].header.signature_end"
               for f in validate_path(files["odd.cper"]))
    good = _records(3, 10)
    broken = bytearray(good + good)
    broken[len(good) + 20:len(good) + 24] = (1 << 30).to_bytes(4, "little")   # record 3's length lies
    (tmp_path / "broken.cper").write_bytes(bytes(broken))
    found = validate_path(str(tmp_path / "broken.cper"))
    assert [f.rule for f in found if f.rule == "TABLE.STRUCTURE"] == ["TABLE.STRUCTURE"]


def test_diff_streams_with_the_whole_documents_changes(tmp_path):
    from apeitool.diff import diff_cper_files, diff_decoded
    files = _inputs(tmp_path)
    changed = bytearray(open(files["many.cper"], "rb").read())
    changed[0x60] ^= 0xFF                                     # record 0's Record ID
    changed[-1] ^= 0x01                                       # a byte of the last record's last section
    (tmp_path / "changed.cper").write_bytes(bytes(changed))
    files["changed.cper"] = str(tmp_path / "changed.cper")
    pairs = [("many.cper", "changed.cper", "record"), ("many.cper", "one.cper", "record"),
             ("one.cper", "many.cper", "record"), ("padded.cper", "many.cper", "record"),
             ("blocks.bin", "blocks-padded.bin", "estatus"), ("blocks-padded.bin", "blocks-trailing.bin", "estatus")]
    for a, b, form in pairs:
        for ignore in ((), ("*.header.record_id",)):
            whole = diff_decoded(apeitool.decode(files[a])[0], apeitool.decode(files[b])[0], ignore)
            streamed = diff_cper_files(files[a], files[b], form, ignore)
            assert [c.as_dict() for c in streamed.changes] == [c.as_dict() for c in whole.changes], (a, b)
            assert (streamed.ignored, streamed.kind) == (whole.ignored, whole.kind)
    r = CliRunner().invoke(main, ["diff", "-f", "json", files["many.cper"], files["changed.cper"]])
    assert r.exit_code == 1 and "records[0].header.record_id" in r.output


def test_json_is_the_same_bytes_with_or_without_orjson(monkeypatch):
    """jsonenc uses orjson when installed and must then give json.dumps's exact text (ASCII escapes,
    integers beyond 64 bits, DEL); the fallback is the standard library itself."""
    import json
    from apeitool.render import jsonenc
    rng = random.Random(5)
    objs = [apeitool.decode_bytes(_records(3, 11))[0].model]
    for _ in range(3000):
        s = "".join(chr(rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0x100), rng.randrange(0x100, 0x3000)]))
                    for _ in range(rng.randrange(6)))
        objs.append({"s": s, "l": [s, {}, []], "i": rng.getrandbits(rng.choice([8, 64, 65, 200])), "n": None, "b": True})
    for obj in objs:
        assert jsonenc.compact(obj) == json.dumps(obj, separators=(",", ":")).encode()
        assert jsonenc.indented(obj) == json.dumps(obj, indent=2)
    monkeypatch.setattr(jsonenc, "orjson", None)
    assert jsonenc.indented(objs[0]) == json.dumps(objs[0], indent=2) and jsonenc.backend().startswith("json")


@pytest.mark.parametrize("fmt", ["json", "libcper"])
def test_jobs_give_the_same_output_window_by_window(tmp_path, fmt, monkeypatch):
    """--jobs 2 renders windows in worker processes; with small windows every file spans many, and
    the output is still the whole documents' output (one-record files, padding, several files)."""
    import apeitool.bulk
    monkeypatch.setattr(apeitool.bulk, "PARALLEL_WINDOW", 4096)
    files = _inputs(tmp_path)
    runner = CliRunner()
    groups = [[files["many.cper"]], [files["one.cper"]], [files["padded.cper"]],
              [files["one.cper"], files["many.cper"], files["padded.cper"]]]
    if fmt == "json":
        groups += [[files["blocks.bin"]], [files["blocks-trailing.bin"], files["blocks-padded.bin"]]]
    if "libcper.cper" in files:
        groups.append([files["libcper.cper"]])
    for paths in groups:
        r = runner.invoke(main, ["decode", "-q", "-f", fmt, "--jobs", "2", *paths])
        assert r.exit_code == 0, (paths, r.output)
        assert r.output == _whole(paths, fmt), paths


def test_jobs_stop_at_a_record_that_lies_with_one_error(tmp_path, monkeypatch):
    import apeitool.bulk
    monkeypatch.setattr(apeitool.bulk, "PARALLEL_WINDOW", 4096)
    good = _records(40, 12)
    broken = bytearray(good + good)
    broken[len(good) + 20:len(good) + 24] = (1 << 30).to_bytes(4, "little")
    path = tmp_path / "broken.cper"
    path.write_bytes(bytes(broken))
    out = tmp_path / "out.json"
    r = CliRunner().invoke(main, ["decode", "-f", "libcper", "--jobs", "2", str(path), "-o", str(out)])
    assert r.exit_code == 2 and f"offset 0x{len(good):X}" in r.output and "1073741824" in r.output
    assert r.output.count("\n") == 1 and "Traceback" not in r.output
    assert not out.exists()


def test_validate_reads_stdin_once_whatever_it_holds():
    """stdin is only peeked to tell CPER (read in windows) from anything else (read whole)."""
    odd = bytearray(_records(3, 13))
    odd[8:12] = (0x1234).to_bytes(4, "little")
    r = CliRunner().invoke(main, ["validate", "-f", "json", "--fail-on", "info", "-"], input=bytes(odd))
    assert "CPER.SIGNATURE_END" in r.output and '"file": "<stdin>"' in r.output
    r = CliRunner().invoke(main, ["validate", "-"], input=apeitool.build({"sources": []}, "hest"))
    assert r.exit_code in (0, 1) and "Traceback" not in r.output and "<stdin>" in r.output
