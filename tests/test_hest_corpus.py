"""APEI tables nobody on the team wrote (HEST, BERT, EINJ, ERST): byte-exact round trip and
iasl-identical disassembly."""
import json

import pytest

import apeitool
from apeitool.render.iasl import field_lines, render
from apeitool.tables import build_table, decode_table

from conftest import TABLE_PATTERNS, corpus_params


@pytest.mark.parametrize("path", corpus_params(*TABLE_PATTERNS))
def test_round_trip_through_json(path):
    data = path.read_bytes()
    model, _warnings = decode_table(data)
    spec = json.loads(json.dumps(model))  # exactly what `decode --format json` prints
    assert build_table(spec) == data


@pytest.mark.parametrize("path", corpus_params(*TABLE_PATTERNS))
def test_round_trip_through_yaml(path):
    import yaml
    from apeitool.render.data import to_yaml
    data = path.read_bytes()
    model, _ = decode_table(data)
    assert build_table(yaml.safe_load(to_yaml(model))) == data


@pytest.mark.parametrize("path", corpus_params(*TABLE_PATTERNS))
def test_iasl_lines_match_iasl_disassembly(path):
    dsl = path.with_suffix(".dsl")
    expected = field_lines(dsl.read_text())
    got = field_lines(render(path.read_bytes()))
    assert got == expected


@pytest.mark.parametrize("path", corpus_params("real/*.dat", "qemu/*.dat"))
def test_real_tables_decode_without_warnings(path):
    # real and QEMU tables are well formed at the level decode checks (counts, checksums, lengths)
    [t] = apeitool.decode(str(path))
    assert t.warnings == []
    count, items = {"hest": ("error_source_count", "sources"), "einj": ("injection_entry_count", "entries"),
                    "erst": ("instruction_entry_count", "entries"), "bert": (None, None)}[t.kind]
    if count:
        assert len(t.model[items]) == t.model[count]


@pytest.mark.parametrize("path", corpus_params("iasl/template/einj.aml"))
def test_einj_template_count_mismatch_is_visible(path):
    [t] = apeitool.decode(str(path))
    assert (t.model["injection_entry_count"], len(t.model["entries"])) == (10, 8)
    assert [(w.field, w.offset) for w in t.warnings] == [("injection_entry_count", 0x2C)]


@pytest.mark.parametrize("path", corpus_params("iasl/subtypes/einj-all-actions.aml"))
def test_einj_action_names(path):
    [t] = apeitool.decode(str(path))
    actions = [e["action"] for e in t.model["entries"]]
    assert actions[:3] == ["BEGIN_INJECTION_OPERATION", "GET_TRIGGER_ERROR_ACTION_TABLE", "SET_ERROR_TYPE"]
    assert "TRIGGER_ERROR" in actions and 0x0A in actions and 0x20 in actions


@pytest.mark.parametrize("path", corpus_params("iasl/template/hest.aml"))
def test_template_count_mismatch_is_visible(path):
    [t] = apeitool.decode(str(path))
    assert t.model["error_source_count"] == 4
    assert [s["type"] for s in t.model["sources"]] == [
        "IA32_MCE", "IA32_CMC", "AER_ENDPOINT", "AER_BRIDGE", "GHES", "GHES", "GHES_V2",
        "IA32_DEFERRED_MCE"]
    assert [w.field for w in t.warnings] == ["error_source_count"]


@pytest.mark.parametrize("path", corpus_params("qemu/HEST-aarch64-virt.dat"))
def test_qemu_virt_fields(path):
    [t] = apeitool.decode(str(path))
    s0, s1 = t.model["sources"]
    assert (s0["notify"]["type"], s1["notify"]["type"]) == ("SEA", "GPIO_SIGNAL")
    assert s0["error_status_address"]["address"] == 0x46360000
    assert s1["read_ack_register"]["address"] == 0x46360018
    assert s0["read_ack_preserve"] == 0xFFFFFFFFFFFFFFFE and s0["read_ack_write"] == 1
    assert s0["related_source_id"] == 0xFFFF


@pytest.mark.parametrize("path", corpus_params("iasl/ghesv2/hest-ghesv2-notify-unknown.aml"))
def test_reserved_notify_types_stay_numbers(path):
    [t] = apeitool.decode(str(path))
    assert [s["notify"]["type"] for s in t.model["sources"]] == [0x0C, 0x7F, 0xFF]
