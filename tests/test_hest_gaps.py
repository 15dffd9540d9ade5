"""Zero gaps inside a HEST (issue: real server firmware with 336 zero bytes before two GHES).

The expected results come from the ACPI walk (structures follow one another up to Table Length),
from Linux's apei_hest_parse (Error Source Count entries from 0x28, each as long as its type), and
from iasl (which prints the zeros as IA-32 MCE subtables)."""

import pytest

import apeitool
from apeitool.cli import main
from apeitool.errors import SpecError
from apeitool.linux_hest import linux_view
from apeitool.render.iasl import field_lines, render
from apeitool.specs import load_spec
from apeitool.validate import validate_bytes
from click.testing import CliRunner

from conftest import FIXTURES, needs_iasl, run_iasl

SPEC = FIXTURES / "hest" / "zero-gap.yaml"


def gap_table(gap=336, tail=0, count=None):
    spec = load_spec(str(SPEC))
    spec["gaps"] = [{"before_source": 1, "length": gap}] + ([{"before_source": 3, "length": tail}] if tail else [])
    if count is not None:
        spec["error_source_count"] = count
    return apeitool.build(spec, "hest")


def splice_zeros(table: bytes, at: int, n: int) -> bytes:
    """Insert n zero bytes at `at` and fix Table Length and checksum: what the firmware shipped."""
    t = bytearray(table[:at] + bytes(n) + table[at:])
    t[4:8] = len(t).to_bytes(4, "little")
    t[9] = 0
    t[9] = -sum(t) & 0xFF
    return bytes(t)


@pytest.mark.parametrize("gap", [1, 4, 16, 40, 41, 80, 330, 336, 1000])
def test_gap_between_structures_decodes_and_round_trips(gap):
    plain = apeitool.build({k: v for k, v in load_spec(str(SPEC)).items() if k != "gaps"}, "hest")
    raw = splice_zeros(plain, 0x90, gap)   # after the CMC and its two banks
    [t] = apeitool.decode_bytes(raw)
    assert [s["source_id"] for s in t.model["sources"]] == [0, 1, 2]
    assert t.model["gaps"] == [{"before_source": 1, "length": gap}]
    [w] = [w for w in t.warnings if w.field == "gaps[0]"]
    assert w.offset == 0x90 and f"{gap} zero bytes" in w.message
    assert apeitool.build(t.model) == raw


@pytest.mark.parametrize("tail", [1, 2, 28, 40, 80, 120])
def test_trailing_zeros_are_no_phantom_sources(tail):
    plain = apeitool.build({k: v for k, v in load_spec(str(SPEC)).items() if k != "gaps"}, "hest")
    raw = splice_zeros(plain, len(plain), tail)
    [t] = apeitool.decode_bytes(raw)
    assert all(s["type"] != "IA32_MCE" for s in t.model["sources"])
    assert t.model["gaps"] == [{"before_source": 3, "length": tail}]
    assert apeitool.build(t.model) == raw


def test_a_real_disabled_type0_structure_is_not_a_gap():
    # an IA-32 MCE that describes something (banks, enabled) still decodes as a source
    spec = {"sources": [{"type": "IA32_MCE", "source_id": 0, "enabled": 0,
                         "banks": [{"bank_number": 0}]}]}
    [t] = apeitool.decode_bytes(apeitool.build(spec, "hest"))
    assert "gaps" not in t.model and t.model["sources"][0]["type"] == "IA32_MCE"


def test_spec_gaps_are_checked():
    spec = load_spec(str(SPEC))
    for bad, field in (([{"before_source": 9, "length": 4}], "gaps[0].before_source"),
                       ([{"before_source": 1, "length": 0}], "gaps[0].length"),
                       ([{"before_source": 1}], "gaps[0].length"),
                       ([{"before_source": 1, "length": 4, "fill": 1}], "gaps[0]"),
                       ("x", "gaps")):
        spec["gaps"] = bad
        with pytest.raises(SpecError) as e:
            apeitool.build(spec, "hest")
        assert e.value.field == field


def test_linux_walks_the_gap_by_count_and_registers_no_ghes():
    [t] = apeitool.decode_bytes(gap_table())
    view = linux_view(t.model)
    # count 3: the CMC, then two 40-byte zero "IA-32 MCE" structures inside the gap
    assert view.index == [0, None, None] and view.offset == [0x28, 0x90, 0xB8]
    assert view.failure is None
    found = {f.rule: f for f in validate_bytes(gap_table(), "zero-gap.aml")}
    assert found["HEST.ZERO_GAP"].offset == 0x90
    walk = found["LINUX.HEST.ZERO_GAP_WALK"]
    assert "no GHES registered" in walk.message and "GHES source_id 1" in walk.message
    # the structures iasl would show are not ours: no duplicate/singleton findings for phantoms
    assert "HEST.SINGLETON" not in found and "HEST.DUPLICATE_SOURCE_ID" not in found
    # the rest of the rule set still sees the first source
    assert found["HEST.NOTIFY.POLL_INTERVAL_ZERO"].path == "sources[0].notify.poll_interval"


def linux_entry_failure(raw: bytes):
    """apei_hest_parse by hand: Error Source Count entries from 0x28; the message where it stops."""
    lengths = {0: 40, 1: 48, 2: 20, 6: 48, 7: 44, 8: 56, 9: 64, 10: 92, 11: 48}
    banks_at = {0: 32, 1: 44, 11: 44}
    off, length = 0x28, len(raw)
    for _ in range(int.from_bytes(raw[36:40], "little")):
        if off + 4 > length:
            return "Table contents overflow for hardware error source: 0."
        t, sid = int.from_bytes(raw[off:off + 2], "little"), int.from_bytes(raw[off + 2:off + 4], "little")
        if t not in lengths:
            return f"Unknown or unused hardware error source type: {t} for hardware error source: {sid}."
        n = lengths[t] + (raw[off + banks_at[t]] * 28 if t in banks_at and off + lengths[t] <= length else 0)
        if off + n > length:
            return f"Table contents overflow for hardware error source: {sid}."
        off += n
    return None


def test_linux_landing_inside_a_structure_disables_the_hest():
    failed = 0
    for gap in range(1, 120):
        raw = gap_table(gap=gap, count=4)
        [t] = apeitool.decode_bytes(raw)
        expected = linux_entry_failure(raw)
        view = linux_view(t.model)
        assert (view.failure is None) == (expected is None), gap
        if expected:
            failed += 1
            assert view.failure.endswith(expected)
            found = {f.rule: f for f in validate_bytes(raw, "x.aml")}
            assert "HEST disabled" in found["LINUX.HEST.ZERO_GAP_WALK"].message
    assert failed


def test_replay_registers_no_ghes_behind_the_gap():
    from apeitool.replay import replay
    [t] = apeitool.decode_bytes(gap_table())
    events = [{"at": 0.0, "event": "notify", "type": "NMI", "cpu": 0}]
    from apeitool.replay.stream import parse_event
    result = replay(t.model, iter([parse_event(e, "x") for e in events]), "v5.1", "x86_64", 100, None, "x")
    assert any(v["id"] == "FW.NOTIFY_NO_HANDLER" for v in result["violations"])


def test_gap_text_tree_diff_and_cli():
    raw = gap_table(tail=24)
    runner = CliRunner()
    with runner.isolated_filesystem():
        open("gap.aml", "wb").write(raw)
        out = runner.invoke(main, ["decode", "--no-color", "gap.aml"])
        assert out.exit_code == 0 and "zero gap: 336 bytes" in out.output and "@0x90" in out.output
        out = runner.invoke(main, ["decode", "-f", "json", "-q", "gap.aml"])
        open("gap.json", "w").write(out.output)
        out = runner.invoke(main, ["build", "hest", "gap.json", "-o", "back.aml"])
        assert out.exit_code == 0 and open("back.aml", "rb").read() == raw
        out = runner.invoke(main, ["diff", "gap.aml", "back.aml"])
        assert out.exit_code == 0


@needs_iasl
@pytest.mark.parametrize("gap", [16, 41, 330, 336])
def test_iasl_output_is_what_iasl_prints_for_a_gap(gap, tmp_path):
    raw = gap_table(gap=gap)
    (tmp_path / "g.aml").write_bytes(raw)
    proc = run_iasl(["-d", "g.aml"], tmp_path)
    assert proc.returncode == 0
    assert field_lines(render(raw)) == field_lines((tmp_path / "g.dsl").read_text())
