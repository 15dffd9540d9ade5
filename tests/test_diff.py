"""diff: pairing rules, offsets, ignore globs, inputs (raw, specs, CPER), exit codes, corpus pairs."""
from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

import apeitool
from apeitool.cli import main
from apeitool.diff import diff_decoded, glob_regex, load_pair
from apeitool.specs import load_spec
from conftest import CORPUS, FIXTURES, needs_iasl, run_iasl

QEMU = CORPUS / "qemu"
REAL = CORPUS / "real"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not present at {CORPUS}")


def _run(*args):
    result = CliRunner().invoke(main, ["diff", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _changes(a: bytes, b: bytes, ignore=()):
    [da], [db] = apeitool.decode_bytes(a, "A"), apeitool.decode_bytes(b, "B")
    return diff_decoded(da, db, ignore).changes


def _write(tmp_path, name, data):
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


HEST_SPEC = {"sources": [
    {"type": "GHES", "source_id": 1, "notify": {"type": "SCI"}, "error_status_address":
        {"space_id": "SYSTEM_MEMORY", "bit_width": 64, "access_size": "QWORD", "address": 0x1000}},
    {"type": "GHES_V2", "source_id": 2, "notify": {"type": "SEA"}},
    {"type": "AER_ROOT_PORT", "source_id": 3},
]}


def _hest(spec):
    return apeitool.build(spec, "hest")


# -- pairing ---------------------------------------------------------------------------------------

def test_moved_but_equal_source_is_no_change():
    moved = copy.deepcopy(HEST_SPEC)
    moved["sources"] = [moved["sources"][2], moved["sources"][0], moved["sources"][1]]
    assert _changes(_hest(HEST_SPEC), _hest(moved)) == []


def test_changed_notify_type_is_exactly_one_change_with_names_and_offsets():
    changed = copy.deepcopy(HEST_SPEC)
    changed["sources"] = [changed["sources"][1], changed["sources"][0], changed["sources"][2]]
    changed["sources"][1]["notify"]["type"] = "SEA"
    a, b = _hest(HEST_SPEC), _hest(changed)
    [c] = _changes(a, b, ignore=["header.checksum"])
    assert (c.kind, c.path, c.path_b, c.a, c.b) == ("changed", "sources[0].notify.type",
                                                  "sources[1].notify.type", "SCI", "SEA")
    assert a[c.offset_a] == 3 and b[c.offset_b] == 8  # SCI, SEA notification type bytes


def test_inserted_source_is_one_addition():
    bigger = copy.deepcopy(HEST_SPEC)
    bigger["sources"].insert(1, {"type": "GHES", "source_id": 7, "notify": {"type": "POLLED"}})
    changes = _changes(_hest(HEST_SPEC), _hest(bigger))
    added = [c for c in changes if c.kind == "added"]
    assert [(c.path, c.b["source_id"]) for c in added] == [("sources[1]", 7)]
    assert {c.path for c in changes if c.kind == "changed"} == {"header.length", "header.checksum",
                                                               "error_source_count"}


def test_removed_source_and_duplicate_ids_pair_in_order():
    dup = copy.deepcopy(HEST_SPEC)
    dup["sources"].append({"type": "GHES", "source_id": 1, "notify": {"type": "GPIO_SIGNAL"}})
    changes = _changes(_hest(dup), _hest(HEST_SPEC))
    assert [(c.kind, c.path) for c in changes if c.path.startswith("sources")] == [("removed", "sources[3]")]


def test_einj_inserted_entry_is_one_addition():
    spec = load_spec(str(FIXTURES / "einj" / "all-actions.yaml"))
    more = copy.deepcopy(spec)
    extra = copy.deepcopy(more["entries"][0])
    extra["value"] = 0x55
    more["entries"].insert(2, extra)
    changes = _changes(apeitool.build(spec, "einj"), apeitool.build(more, "einj"),
                       ignore=["header.*", "injection_entry_count"])
    assert [(c.kind, c.path) for c in changes] == [("added", "entries[2]")]


# -- CPER ------------------------------------------------------------------------------------------

def _memory_block(pa: int, severity="recoverable"):
    from apeitool.cli import memory_error_spec
    return apeitool.build(memory_error_spec(pa, severity, True), "estatus")


def test_cper_field_change_has_offsets_into_both_inputs():
    a, b = _memory_block(0x40FA6000), _memory_block(0x50000000)
    [c] = _changes(a, b)
    assert c.path == "blocks[0].entries[0].body.physical_address"
    assert int.from_bytes(a[c.offset_a:c.offset_a + 8], "little") == 0x40FA6000
    assert int.from_bytes(b[c.offset_b:c.offset_b + 8], "little") == 0x50000000


def test_cper_section_of_another_type_is_removed_and_added():
    record = {"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "platform_memory"}, "body": {"physical_address": 0x1000}}]}]}
    other = copy.deepcopy(record)
    other["records"][0]["sections"][0] = {"descriptor": {"section_type": "processor_generic"},
                                          "body": {"level": 1}}
    a, b = apeitool.build(record, "cper"), apeitool.build(other, "cper")
    kinds = [(c.kind, c.path) for c in _changes(a, b) if "sections" in c.path]
    assert kinds == [("removed", "records[0].sections[0]"), ("added", "records[0].sections[0]")]


def test_record_against_status_block_is_trouble(tmp_path):
    rec = _write(tmp_path, "r.cper", apeitool.build(
        {"records": [{"header": {}, "sections": [{"descriptor": {"section_type": "platform_memory"},
                                                  "body": {}}]}]}, "cper"))
    blk = _write(tmp_path, "b.bin", _memory_block(0x1000))
    result = _run(rec, blk)
    assert result.exit_code == 2
    assert "cannot compare CPER records" in result.output and "\n" not in result.output.strip()


# -- inputs and CLI --------------------------------------------------------------------------------

def test_spec_against_its_build_is_equal_and_against_an_edit_differs(tmp_path):
    spec_path = FIXTURES / "hest" / "all-types.yaml"
    raw = _write(tmp_path, "hest.aml", apeitool.build(load_spec(str(spec_path)), "hest"))
    assert _run(spec_path, raw).exit_code == 0
    edited = load_spec(str(spec_path))
    edited["sources"][2]["max_raw_data_length"] = 0x4000
    edited_path = _write(tmp_path, "edited.json", json.dumps(edited))
    result = _run("-f", "json", "--ignore", "header.checksum", edited_path, raw)
    assert result.exit_code == 1
    [c] = json.loads(result.output)
    assert c["path"] == "sources[2].max_raw_data_length" and (c["a"], c["b"]) == (0x4000, 0x2000)


def test_spec_without_signature_takes_the_other_inputs_kind(tmp_path):
    raw = _write(tmp_path, "h.aml", _hest(HEST_SPEC))
    spec = _write(tmp_path, "h.yaml", "sources:\n  - {type: GHES_V2, source_id: 2, notify: {type: SEA}}\n")
    da, db = load_pair(str(raw), str(spec))
    assert db.kind == "hest"


def test_identical_inputs_exit_0(tmp_path):
    raw = _write(tmp_path, "h.aml", _hest(HEST_SPEC))
    result = _run(raw, raw)
    assert result.exit_code == 0 and "0 differences" in result.output


def test_differences_exit_1_and_ignore_and_stat(tmp_path):
    changed = copy.deepcopy(HEST_SPEC)
    changed["sources"][0]["error_status_address"]["address"] = 0x2000
    a, b = _write(tmp_path, "a.aml", _hest(HEST_SPEC)), _write(tmp_path, "b.aml", _hest(changed))
    result = _run(a, b)
    assert result.exit_code == 1
    assert "sources[0].error_status_address.address: 4096 → 8192" in result.output
    assert _run("--ignore", "*.address", "--ignore", "header.checksum", a, b).exit_code == 0
    stat = _run("-f", "json", "--stat", a, b)
    assert json.loads(stat.output)["groups"] == {"header": {"changed": 1, "added": 0, "removed": 0},
                                                 "sources[0]": {"changed": 1, "added": 0, "removed": 0}}


def test_different_signatures_and_unreadable_inputs_are_trouble(tmp_path):
    hest = _write(tmp_path, "h.aml", _hest(HEST_SPEC))
    einj = _write(tmp_path, "e.aml", apeitool.build(load_spec(str(FIXTURES / "einj" / "all-actions.yaml")),
                                                     "einj"))
    result = _run(hest, einj)
    assert result.exit_code == 2 and "HEST" in result.output and "EINJ" in result.output
    garbage = _write(tmp_path, "g.bin", b"\x01\x02garbage" * 3)
    result = _run(hest, garbage)
    assert result.exit_code == 2 and result.output.startswith("apeitool: error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert _run(hest, tmp_path / "missing").exit_code == 2


def test_acpidump_with_several_tables_needs_table(tmp_path):
    from apeitool.render.iasl import hexdump
    hest, einj = _hest(HEST_SPEC), apeitool.build(load_spec(str(FIXTURES / "einj" / "all-actions.yaml")),
                                                   "einj")

    def dump(sig, raw):
        return f"{sig} @ 0x0000000000000000\n" + hexdump(raw).split("\n", 2)[2] + "\n"
    both = _write(tmp_path, "dump.txt", dump("HEST", hest) + dump("EINJ", einj))
    single = _write(tmp_path, "h.aml", hest)
    result = _run(both, single)
    assert result.exit_code == 2 and "--table" in result.output
    assert _run("--table", "HEST", both, single).exit_code == 0


def test_glob_semantics():
    assert glob_regex("sources[*].notify.*").match("sources[12].notify.type")
    assert glob_regex("header.*").match("header.checksum")
    assert not glob_regex("header.*").match("records[0].header.checksum")
    assert glob_regex("*.address").match("sources[0].read_ack_register.address")
    assert not glob_regex("sources[1].*").match("sources[10].type")


def test_help_has_examples():
    result = CliRunner().invoke(main, ["diff", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output and "--ignore" in result.output


# -- corpus pairs ----------------------------------------------------------------------------------

@needs_corpus
def test_qemu_virt_v1_to_v2_adds_one_source():
    result = _run("-f", "json", QEMU / "HEST-aarch64-virt.v1-132.dat", QEMU / "HEST-aarch64-virt.v2-224.dat")
    assert result.exit_code == 1
    changes = json.loads(result.output)
    added = [c for c in changes if c["kind"] == "added"]
    assert [(c["path"], c["b"]["source_id"], c["b"]["notify"]["type"]) for c in added] == \
        [("sources[1]", 1, "GPIO_SIGNAL")]
    assert {"path": "error_source_count", "a": 1, "b": 2} == {k: next(
        c for c in changes if c["path"] == "error_source_count")[k] for k in ("path", "a", "b")}


@needs_corpus
def test_qemu_virt_relayout_changes_only_addresses():
    a, b = QEMU / "HEST-aarch64-virt.v2-224.dat", QEMU / "HEST-aarch64-virt.dat"
    changes = json.loads(_run("-f", "json", a, b).output)
    assert {c["path"] for c in changes} - {"header.checksum"} == {
        f"sources[{i}].{reg}.address" for i in (0, 1) for reg in ("error_status_address", "read_ack_register")}
    data_a, data_b = a.read_bytes(), b.read_bytes()
    for c in changes:
        if c["path"].endswith(".address"):
            assert int.from_bytes(data_a[c["offset_a"]:c["offset_a"] + 8], "little") == c["a"]
            assert int.from_bytes(data_b[c["offset_b"]:c["offset_b"] + 8], "little") == c["b"]
    assert _run("--ignore", "*.address", "--ignore", "header.checksum", a, b).exit_code == 0


@needs_corpus
def test_depo_superserver_hests_differ_in_status_addresses():
    a, b = REAL / "DEPO-SuperServer-5ED617-HEST.dat", REAL / "DEPO-SuperServer-F84E17-HEST.dat"
    changes = json.loads(_run("-f", "json", a, b).output)
    assert {c["path"] for c in changes} == {"header.checksum", "sources[1].error_status_address.address",
                                            "sources[2].error_status_address.address"}


@needs_corpus
@needs_iasl
@pytest.mark.parametrize("name", ["HEST-aarch64-virt", "ERST-q35-acpierst"])
def test_table_against_its_iasl_recompile(name, tmp_path):
    (tmp_path / "t.dsl").write_text((QEMU / f"{name}.dsl").read_text())
    proc = run_iasl(["-p", "out", "t.dsl"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    original, recompiled = QEMU / f"{name}.dat", tmp_path / "out.aml"
    changes = json.loads(_run("-f", "json", original, recompiled).output)
    assert {c["path"] for c in changes} <= {"header.creator_id", "header.creator_revision", "header.checksum"}
    assert "header.creator_id" in {c["path"] for c in changes}
    assert _run("--ignore", "header.*", original, recompiled).exit_code == 0


@needs_corpus
def test_every_corpus_table_equals_itself():
    for path in sorted(REAL.glob("*.dat")) + sorted(QEMU.glob("*.dat")):
        [d] = apeitool.decode(str(path))
        assert diff_decoded(d, d).changes == [], path


def _pcie(aer: bytes) -> bytes:
    cap = bytearray(60)
    cap[2] = 0x42
    body = {"validation_bits": 0xC0, "capability": bytes(cap).hex(), "aer_info": aer.hex()}
    return apeitool.build({"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "pcie"}, "body": body}]}]}, "cper")


def test_pcie_register_bytes_differ_register_by_register():
    a = bytearray(96)
    b = bytearray(96)
    b[0x04:0x08] = (1 << 18).to_bytes(4, "little")            # malformed TLP status set
    changes = _changes(_pcie(bytes(a)), _pcie(bytes(b)))
    [c] = changes
    assert c.path == "records[0].sections[0].body.aer_info.uncorrectable_error_status.malformed_tlp_status"
    assert (c.a, c.b) == (False, True)
    aer_offset = 128 + 72 + 112                                 # record header, descriptor, body up to AER
    assert c.offset_a == c.offset_b == aer_offset + 0x04


def test_pcie_bits_outside_every_register_field_still_show():
    a, b = bytearray(96), bytearray(96)
    b[0x20] = 0xFF                                              # TLP header log: no field reads it
    [c] = _changes(_pcie(bytes(a)), _pcie(bytes(b)))
    assert c.path.endswith("body.aer_info") and c.a == bytes(a).hex() and c.b == bytes(b).hex()
    b[0x04] = 0x10                                              # and a field: both kinds of change
    paths = [c.path for c in _changes(_pcie(bytes(a)), _pcie(bytes(b)))]
    assert paths == ["records[0].sections[0].body.aer_info.uncorrectable_error_status."
                     "data_link_protocol_error_status", "records[0].sections[0].body.aer_info"]


def test_pcie_capability_version_change_adds_the_version_2_registers_at_their_offsets():
    def record(version: int) -> bytes:
        cap = bytearray(60)
        cap[2] = version
        body = {"validation_bits": 0x40, "capability": bytes(cap).hex()}
        return apeitool.build({"records": [{"header": {}, "sections": [
            {"descriptor": {"section_type": "pcie"}, "body": body}]}]}, "cper")
    changes = {c.path.rsplit(".", 1)[-1]: c for c in _changes(record(1), record(2))}
    cap_offset = 128 + 72 + 52
    assert changes["capability_version"].offset_a == cap_offset + 2
    assert changes["link_status2"].kind == "added" and changes["link_status2"].offset_b == cap_offset + 0x32
    assert changes["device_capabilities2"].offset_b == cap_offset + 0x24
