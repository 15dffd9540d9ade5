"""The boot error region walked as Linux's bert.c does (checks, messages, limits)."""
from __future__ import annotations

from click.testing import CliRunner

from apeitool.cli import main
from apeitool.cper import build_document
from apeitool.cper.bert import walk_region
from apeitool.specs import load_spec
from conftest import FIXTURES


def _region() -> bytes:
    return build_document(load_spec(str(FIXTURES / "estatus" / "bert-region.yaml")))


def test_project_region_prints_like_the_kernel(tmp_path):
    region = tmp_path / "region.bin"
    region.write_bytes(_region())
    bert = tmp_path / "bert.aml"
    runner = CliRunner()
    assert runner.invoke(main, ["build", "bert", str(FIXTURES / "bert" / "region.yaml"),
                                "-o", str(bert)]).exit_code == 0
    # 6.6: the ARM error type still an enumeration (before "align ARM CPER type with UEFI 2.9A/2.10
    # specs"), memory locations already "node:0"
    r = runner.invoke(main, ["decode", "bert", str(bert), "--region", str(region), "-f", "kernel", "-q",
                             "--kernel-version", "6.6"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "BERT: Error records from previous boot:",
        "[Hardware Error]: event severity: fatal",
        "[Hardware Error]:  Error 0, type: fatal",
        "[Hardware Error]:   section_type: memory error",
        "[Hardware Error]:   physical_address: 0x0000000080001000",
        "[Hardware Error]:   node:0 ",
        "[Hardware Error]:   error_type: 3, multi-bit ECC",
        "[Hardware Error]: event severity: recoverable",
        "[Hardware Error]:  Error 0, type: recoverable",
        "[Hardware Error]:   section_type: ARM processor error",
        "[Hardware Error]:   MIDR: 0x00000000410fd0c1",
        "[Hardware Error]:   Multiprocessor Affinity Register (MPIDR): 0x0000000080000001",
        "[Hardware Error]:   Error info structure 0:",
        "[Hardware Error]:   num errors: 1",
        "[Hardware Error]:    first error captured",
        "[Hardware Error]:    error_type: 0, cache error",
        "[Hardware Error]:    error_info: 0x0000000000400007",
        "[Hardware Error]:     transaction type: Instruction",
        "[Hardware Error]:     operation type: Generic error (type cannot be determined)",
        "[Hardware Error]:     cache level: 1",
        "[Hardware Error]:    virtual fault address: 0xffff000012345000",
        "[Hardware Error]:    physical fault address: 0x0000000080001000",
        "BERT: Total records found: 2",
    ]
    r = runner.invoke(main, ["decode", "bert", str(bert), "--region", str(region), "-f", "json", "-q"])
    assert r.exit_code == 0 and '"region"' in r.output


def test_walk_stops_at_truncated_and_invalid_blocks():
    region = _region()
    lines, blocks = walk_region(region[:-10], len(region) - 10)
    assert lines[-2] == "BERT: [Firmware Bug]: Truncated status block (length: 164)."
    assert lines[-1] == "BERT: Total records found: 1" and len(blocks) == 1
    bad = bytearray(region)
    bad[12:16] = (10).to_bytes(4, "little")       # data_length shorter than one data entry
    lines, blocks = walk_region(bytes(bad), len(bad))
    assert lines == ["BERT: [Firmware Bug]: Invalid error record."] and blocks == []
    assert walk_region(region, 10)[0] == ["BERT: [Firmware Bug]: table invalid."]


def test_walk_prints_five_then_skips():
    one = _region()[:172]
    lines, blocks = walk_region(one * 7, 7 * 172)
    assert len(blocks) == 7
    assert lines.count("[Hardware Error]: event severity: fatal") == 5
    assert lines[-2:] == ["BERT: [Hardware Error]: Skipped 2 error records", "BERT: Total records found: 7"]
    # a cleared block (block_status 0) ends the walk
    cleared = bytearray(one * 2)
    cleared[172:176] = bytes(4)
    assert walk_region(bytes(cleared), len(cleared))[0][-1] == "BERT: Total records found: 1"


def test_region_bad_uses_are_one_line_errors(tmp_path):
    runner = CliRunner()
    hest = tmp_path / "hest.aml"
    assert runner.invoke(main, ["build", "hest", "-o", str(hest)]).exit_code == 0
    region = tmp_path / "region.bin"
    region.write_bytes(_region())
    for args in (["decode", str(hest), "--region", str(region)],
                 ["decode", "bert", str(hest), "--region", str(region)],
                 ["decode", "hest", "--as", "record", str(hest)]):
        r = runner.invoke(main, args)
        assert r.exit_code == 2, args
        # a library error is one line; click's usage error is a usage line, a hint and one "Error:" line
        lines = r.output.strip().splitlines()
        assert "Traceback" not in r.output
        assert lines[-1].startswith("Error: ") or len(lines) == 1 and lines[0].startswith("apeitool: error:")
    bert = tmp_path / "bert.aml"
    runner.invoke(main, ["build", "bert", str(FIXTURES / "bert" / "region.yaml"), "-o", str(bert)])
    r = runner.invoke(main, ["decode", str(bert), "--region", str(tmp_path / "missing.bin")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "missing.bin" in r.output
    r = runner.invoke(main, ["decode", str(bert), "--region", str(region), "-f", "libcper", "-q"])
    assert r.exit_code == 2 and "boot error region" in r.output
