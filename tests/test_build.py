"""Building HESTs from specs: defaults, derived fields kept when given, and one-line spec errors."""
import pytest

import apeitool
from apeitool.errors import SpecError
from apeitool.schemas.header import table_sum
from apeitool.specs import load_spec, parse_spec_text

from conftest import TABLE_FIXTURES, FIXTURES

MINIMAL = {"sources": [{"type": "GHES_V2", "source_id": 0, "notify": {"type": "SEA"}}]}


def test_minimal_spec_gets_defaults_and_derived_fields():
    raw = apeitool.build(MINIMAL, "hest")
    assert len(raw) == 40 + 92
    assert raw[:4] == b"HEST" and int.from_bytes(raw[4:8], "little") == len(raw)
    assert table_sum(raw) == 0
    [t] = apeitool.decode_bytes(raw)
    s = t.model["sources"][0]
    assert t.model["error_source_count"] == 1
    assert s["related_source_id"] == 0xFFFF and s["enabled"] == 1
    assert s["notify"]["length"] == 28
    assert s["read_ack_preserve"] == 0xFFFFFFFFFFFFFFFE and s["read_ack_write"] == 1
    assert s["error_status_address"] == {"space_id": "SYSTEM_MEMORY", "bit_width": 64, "bit_offset": 0,
                                         "access_size": "QWORD", "address": 0}


def test_given_length_count_checksum_are_kept():
    spec = {"header": {"length": 0x99, "checksum": 0x12}, "error_source_count": 7, **MINIMAL}
    raw = apeitool.build(spec, "hest")
    assert int.from_bytes(raw[4:8], "little") == 0x99
    assert raw[9] == 0x12
    assert int.from_bytes(raw[36:40], "little") == 7


def test_banks_count_derived_or_kept():
    mce = {"type": "IA32_MCE", "source_id": 0, "banks": [{"bank_number": 0}, {"bank_number": 1}]}
    raw = apeitool.build({"sources": [mce]}, "hest")
    assert raw[40 + 32] == 2 and len(raw) == 40 + 40 + 2 * 28
    raw = apeitool.build({"sources": [dict(mce, num_hardware_banks=5)]}, "hest")
    assert raw[40 + 32] == 5


@pytest.mark.parametrize("value", ["SEA", "sea", "ARMv8 SEA", 8, "0x8", "armv8_sea"])
def test_enum_spellings(value):
    spec = {"sources": [{"type": "ghesv2", "source_id": 0, "notify": {"type": value}}]}
    [t] = apeitool.decode_bytes(apeitool.build(spec, "hest"))
    assert t.model["sources"][0]["notify"]["type"] == "SEA"


def test_flags_as_names_or_integer():
    by_name = {"type": "AER_ENDPOINT", "source_id": 1, "flags": {"firmware_first": True, "global": True}}
    by_int = dict(by_name, flags=3)
    assert apeitool.build({"sources": [by_name]}, "hest") == apeitool.build({"sources": [by_int]}, "hest")
    [t] = apeitool.decode_bytes(apeitool.build({"sources": [dict(by_name, flags=0x83)]}, "hest"))
    assert t.model["sources"][0]["flags"] == {"firmware_first": True, "global": True, "reserved": 0x80}


def test_oem_id_bytes_survive():
    spec = {"header": {"oem_id": "AMI", "oem_table_id": "A\x01B"}, **MINIMAL}
    raw = apeitool.build(spec, "hest")
    assert raw[10:16] == b"AMI\0\0\0" and raw[16:24] == b"A\x01B\0\0\0\0\0"


@pytest.mark.parametrize("spec, field, words", [
    ({"sources": [{"source_id": 0}]}, "sources[0].type", "missing required field"),
    ({"sources": [{"type": "GHES_V2"}]}, "sources[0].source_id", "missing required field"),
    ({"sources": [{"type": "GHES_V2", "source_id": 0}]}, "sources[0].notify.type", "missing required"),
    ({"sources": [{"type": "GHES_V3", "source_id": 0}]}, "sources[0].type", "unknown hest type"),
    ({"sources": [{"type": 3, "source_id": 0}]}, "sources[0].type", "no defined layout"),
    ({"sources": [{"type": "GHES", "source_id": 0, "notify": {"type": "SEAX"}}]},
     "sources[0].notify.type", "unknown notify type 'SEAX'"),
    ({"sources": [{"type": "GHES", "source_id": 0, "notfy": {}}]}, "sources[0]", "unknown field(s) 'notfy'"),
    ({"sources": [{"type": "GHES", "source_id": 70000, "notify": {"type": 0}}]},
     "sources[0].source_id", "does not fit"),
    ({"sources": [{"type": "GHES", "source_id": 0, "notify": {"type": 0},
                   "error_status_address": {"address": "lots"}}]},
     "sources[0].error_status_address.address", "expected an integer"),
    ({"header": {"oem_id": "TOOLONGID"}, "sources": []}, "header.oem_id", "longer than 6"),
    ({"sources": [{"type": "GHES", "source_id": 0, "notify": {"type": 0}, "banks": []}]},
     "sources[0].banks", "no machine-check banks"),
    ({"sourcez": []}, None, "unknown field(s) 'sourcez'"),
    ({"header": {"signature": "BERT"}, "sources": []}, "header.signature", "does not match"),
])
def test_spec_errors_name_the_field(spec, field, words):
    with pytest.raises(SpecError) as info:
        apeitool.build(spec, "hest")
    assert info.value.field == field
    assert words in info.value.message
    assert "\n" not in info.value.one_line()


def test_fixture_specs_build():
    for path in TABLE_FIXTURES:
        raw = apeitool.build(load_spec(str(path)), path.parent.name)
        [t] = apeitool.decode_bytes(raw)
        # zero-gap.yaml reproduces broken firmware: its gaps are what decode warns about
        assert [w.field for w in t.warnings] == [f"gaps[{k}]" for k in range(len(t.model.get("gaps", [])))]
        assert apeitool.build(t.model) == raw


def test_all_types_fixture_covers_every_type_and_notify():
    [t] = apeitool.decode_bytes(apeitool.build(load_spec(str(FIXTURES / "hest" / "all-types.yaml")),
                                               "hest"))
    types = {s["type"] for s in t.model["sources"]}
    notifies = {s["notify"]["type"] for s in t.model["sources"] if "notify" in s}
    from apeitool.names import HEST_TYPE, NOTIFY_TYPE
    assert types == set(HEST_TYPE.values())
    assert notifies == set(NOTIFY_TYPE.values())


def test_yaml_and_json_errors_name_line():
    with pytest.raises(SpecError, match=r"invalid YAML at line 2 column 12: mapping values"):
        parse_spec_text("sources:\n  - type: a: b\n", "x.yaml")
    with pytest.raises(SpecError, match=r"invalid JSON at line 1 column"):
        parse_spec_text("{\"sources\": [}", "x.json")


def test_einj_erst_bert_specs():
    einj = apeitool.build({"entries": [{"action": "SET_ERROR_TYPE", "instruction": "WRITE_REGISTER"}]}, "einj")
    assert len(einj) == 48 + 32 and int.from_bytes(einj[44:48], "little") == 1
    assert int.from_bytes(einj[36:40], "little") == 48  # Injection Header Size default
    [t] = apeitool.decode_bytes(einj)
    assert t.model["entries"][0]["mask"] == 0xFFFFFFFFFFFFFFFF
    with pytest.raises(SpecError) as info:
        apeitool.build({"entries": [{"action": "BEGIN_WRITE_OPERATION", "instruction": 0}]}, "einj")
    assert info.value.field == "entries[0].action" and "unknown einj action" in info.value.message
    erst = apeitool.build({"serialization_header_size": 12, "entries": []}, "erst")
    assert len(erst) == 48 and int.from_bytes(erst[36:40], "little") == 12
    bert = apeitool.build({"boot_error_region_length": 20, "boot_error_region_address": "0x1000"}, "bert")
    assert len(bert) == 48 and int.from_bytes(bert[40:48], "little") == 0x1000
