"""Every command through click's CliRunner: outputs, exit codes, one-line errors, atomic writes."""
import json
import os

import pytest
from click.testing import CliRunner

from apeitool.cli import main

from conftest import CORPUS, FIXTURES


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def example(tmp_path, runner):
    out = tmp_path / "hest.aml"
    r = runner.invoke(main, ["build", "hest", "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_version_and_help(runner):
    assert runner.invoke(main, ["--version"]).output.startswith("apeitool, version ")
    for args in (["--help"], ["decode", "--help"], ["build", "--help"], ["build", "hest", "--help"]):
        r = runner.invoke(main, args)
        assert r.exit_code == 0 and "Example" in r.output, args


def test_build_example_is_qemu_virt(example):
    data = example.read_bytes()
    assert len(data) == 224 and data[:4] == b"HEST"
    qemu = CORPUS / "qemu" / "HEST-aarch64-virt.dat"
    if qemu.exists():
        assert data == qemu.read_bytes()


@pytest.mark.parametrize("fmt, check", [
    ("text", lambda s: "GHES_V2" in s and "SEA (ARMv8 SEA, 8)" in s and "\x1b[" not in s),
    ("json", lambda s: json.loads(s)["sources"][1]["notify"]["type"] == "GPIO_SIGNAL"),
    ("yaml", lambda s: "type: GPIO_SIGNAL" in s and "address: 0x46360008" in s),
    ("iasl", lambda s: "Notify Type : 07 [GPIO]" in s and "Raw Table Data: Length 224 (0xE0)" in s),
])
def test_decode_formats(runner, example, fmt, check):
    r = runner.invoke(main, ["decode", "-f", fmt, str(example)])
    assert r.exit_code == 0, r.output
    assert check(r.output)


def test_decode_with_kind_word(runner, example):
    r = runner.invoke(main, ["decode", "hest", str(example), "-f", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["header"]["signature"] == "HEST"


def test_decode_many_files_gives_a_list(runner, example):
    r = runner.invoke(main, ["decode", "-f", "json", str(example), str(example)])
    assert r.exit_code == 0 and len(json.loads(r.output)) == 2


def test_decode_stdin_hex(runner, example):
    r = runner.invoke(main, ["decode", "-f", "json", "-"], input=example.read_bytes().hex())
    assert r.exit_code == 0 and json.loads(r.output)["error_source_count"] == 2


def test_json_round_trip_via_cli(runner, example, tmp_path):
    spec = tmp_path / "spec.json"
    assert runner.invoke(main, ["decode", "-f", "json", str(example), "-o", str(spec)]).exit_code == 0
    out = tmp_path / "again.aml"
    r = runner.invoke(main, ["build", "hest", str(spec), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == example.read_bytes()


@pytest.mark.parametrize("fmt", ["hex", "iasl", "json", "yaml"])
def test_build_other_formats(runner, fmt):
    r = runner.invoke(main, ["build", "hest", str(FIXTURES / "hest" / "all-types.yaml"), "-f", fmt])
    assert r.exit_code == 0, r.output
    assert {"hex": "0000: 48 45 53 54", "iasl": "[Generic Hardware Error Source V2]",
            "json": '"IA32_DEFERRED_MCE"', "yaml": "type: IA32_NMI"}[fmt] in r.output


def test_build_to_stdout_pipe(runner):
    r = runner.invoke(main, ["build", "hest", "-o", "-"])
    assert r.exit_code == 0 and r.stdout_bytes[:4] == b"HEST"


def test_bad_spec_is_one_line_exit_2(runner, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("sources:\n  - type: GHES\n    source_id: 1\n    notify: {type: SEAX}\n")
    out = tmp_path / "out.aml"
    r = runner.invoke(main, ["build", "hest", str(spec), "-o", str(out)])
    assert r.exit_code == 2
    assert r.output.strip() == (f"apeitool: error: {spec}: sources[0].notify.type: unknown notify type "
                                "'SEAX' (known: POLLED, EXTERNAL_INTERRUPT, LOCAL_INTERRUPT, SCI, NMI, "
                                "CMCI, MCE, GPIO_SIGNAL, SEA, SEI, GSIV, SDEI)")
    assert not out.exists()


def test_failed_build_leaves_existing_output_untouched(runner, tmp_path):
    out = tmp_path / "keep.aml"
    out.write_bytes(b"old")
    spec = tmp_path / "bad.json"
    spec.write_text('{"sources": [{"type": "NOPE", "source_id": 0}]}')
    assert runner.invoke(main, ["build", "hest", str(spec), "-o", str(out)]).exit_code == 2
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".apeitool-")] == []


@pytest.mark.parametrize("args, words", [
    (["decode", "/nonexistent/x"], "/nonexistent/x: No such file or directory"),
    (["build", "hest", "/nonexistent/spec.yaml"], "/nonexistent/spec.yaml: No such file"),
])
def test_missing_files(runner, args, words):
    r = runner.invoke(main, args)
    assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output


def test_decode_garbage_exit_2(runner, tmp_path):
    bad = tmp_path / "garbage.bin"
    bad.write_bytes(os.urandom(64) + b"\0")
    r = runner.invoke(main, ["decode", str(bad)])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "garbage.bin" in r.output


def test_decode_kind_mismatch(runner, tmp_path, example):
    r = runner.invoke(main, ["decode", "--table", "BERT", str(example)])
    assert r.exit_code == 2 and "no BERT table in the input (found: HEST)" in r.output


def test_bad_checksum_warns_but_decodes(runner, tmp_path, example):
    data = bytearray(example.read_bytes())
    data[9] ^= 0x5A
    bad = tmp_path / "badsum.aml"
    bad.write_bytes(bytes(data))
    r = runner.invoke(main, ["decode", "-f", "json", str(bad)])
    assert r.exit_code == 0
    assert f"apeitool: warning: {bad}: offset 0x9: header.checksum: checksum" in r.stderr
    assert runner.invoke(main, ["decode", "-q", "-f", "json", str(bad)]).stderr == ""


def test_internal_errors_are_one_line(runner, monkeypatch, example):
    import apeitool.render.text as text
    monkeypatch.setattr(text, "render", lambda *a, **k: 1 / 0)
    r = runner.invoke(main, ["decode", str(example)])
    assert r.exit_code == 3 and "internal error: ZeroDivisionError" in r.output
    assert "Traceback" not in r.output
