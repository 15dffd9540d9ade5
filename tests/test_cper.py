"""CPER and status blocks without the corpus: builders, kernel lines, bad input, random specs."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

import apeitool
from apeitool.cli import main, memory_error_spec
from apeitool.cper import build_document, decode_document
from apeitool.cper.estatus import build_block
from apeitool.errors import ApeiError, DecodeError, SpecError
from apeitool.render import kernel
from apeitool.schemas.sections import BODIES

QEMU_BLOCK = bytes.fromhex(
    "01000000" "00000000" "00000000" "98000000" "00000000"                 # status block
    "1411bca5646fde4eb8633e83ed7c83b1" "00000000" "0003" "00" "00" "50000000"
    + "00" * 36 + "00" * 8                                                   # fru id/text, timestamp
    + "0240000000000000" + "00" * 8 + "0060fa4000000000" + "00" * 48 + "00" + "00" * 7)


def test_memory_error_one_liner_is_qemus_block():
    raw = build_document(memory_error_spec(0x40fa6000, "recoverable", estatus=True))
    assert raw == QEMU_BLOCK
    assert len(raw) == 172


def test_kernel_lines_for_qemu_memory_error():
    doc, _ = decode_document(QEMU_BLOCK)
    assert kernel.document(doc, "arm64", source_id=0).splitlines() == [
        "{1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 0",
        "{1}[Hardware Error]: event severity: recoverable",
        "{1}[Hardware Error]:  Error 0, type: recoverable",
        "{1}[Hardware Error]:   section_type: memory error",
        "{1}[Hardware Error]:   physical_address: 0x0000000040fa6000",
        "{1}[Hardware Error]:   error_type: 0, unknown",
    ]


def _block(section_type, body, severity="corrected", **entry):
    return {"error_severity": severity, "entries": [
        {"section_type": section_type, "error_severity": severity, "body": body, **entry}]}


def _lines(block, arch="arm64"):
    doc, _ = decode_document(build_block(block))
    return kernel.document(doc, arch).splitlines()


def test_kernel_corrected_memory_location_line():
    lines = _lines(_block("platform_memory", {
        "error_status": {"error_type": 4}, "node": 1, "card": 2, "module": 3, "bank": 0x0102,
        "row": 5, "column": 6, "extended": 0b01000001,
        "validation_bits": 0x1 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80000 | 0x100000 | 0x100 | 0x40000
        | 0x200 | 0x200000}))
    assert lines[1] == "{1}[Hardware Error]: It has been corrected by h/w and requires no further action"
    assert lines[2] == "{1}[Hardware Error]: event severity: corrected"
    assert lines[5] == ("{1}[Hardware Error]:    error_status: Storage error in DRAM memory "
                        "(0x0000000000000400)")
    assert lines[6] == ("{1}[Hardware Error]:   node:1 card:2 module:3 bank:258 bank_group:1 "
                        "bank_address:2 row:65541 column:6 chip_id:2 ")


def test_kernel_generic_processor_bits_and_fields():
    lines = _lines(_block("processor_generic", {
        "processor_type": 2, "processor_isa": 4, "error_type": 0x5, "flags": 0x9, "level": 1,
        "instruction_ip": 0xffff0000}))
    body = [l.split("]: ", 1)[1] for l in lines[4:]]
    assert body == ["  section_type: general processor error", "  processor_type: 2, ARM",
                    "  processor_isa: 4, ARM A64", "  error_type: 0x05", "  cache error, bus error",
                    "  flags: 0x09", "  restartable, corrected", "  level: 1",
                    "  IP: 0x00000000ffff0000"]


def test_kernel_unknown_section_hexdump_and_arch():
    lines = _lines(_block("c5753963-3b84-4095-bf78-eddad3f9c9dd", {"data": "41424344" * 5}))
    assert lines[-3:] == [
        "{1}[Hardware Error]:   section length: 0x14",
        "{1}[Hardware Error]:   00000000: 44434241 44434241 44434241 44434241  ABCDABCDABCDABCD",
        "{1}[Hardware Error]:   00000010: 44434241                             ABCD"]
    arm = _block("arm", {"midr": 0x410fd0c0, "section_length": 40})
    assert "section_type: ARM processor error" in _lines(arm, "arm64")[4]
    assert "section type: unknown, e19e3d16-bc11-11e4-9caa-c2051d5d46b0" in _lines(arm, "x86_64")[4]


def test_kernel_short_section_warns():
    lines = _lines(_block("pcie", {"data": "00" * 20}))
    assert lines[-1] == "[Firmware Warn]: error section length is too small"


def test_kernel_pcie_lines():
    aer = bytearray(96)
    aer[4:8] = (0x10).to_bytes(4, "little")
    aer[16:20] = (0x1).to_bytes(4, "little")
    lines = _lines(_block("pcie", {"port_type": 4, "version": {"major": 2, "minor": 1},
                                    "device_id": {"segment": 1, "primary_bus": 2, "device": 3,
                                                  "function": 4, "slot": 5 << 3, "vendor_id": 0x8086,
                                                  "device_id": 0x1234, "class_code": 0x060400},
                                    "aer_info": aer.hex()}))
    body = [l.split("]: ", 1)[1].strip() for l in lines[5:]]
    assert body == ["port_type: 4, root port", "version: 2.1", "device_id: 0001:02:03.4", "slot: 5",
                    "secondary_bus: 0x00", "vendor_id: 0x8086, device_id: 0x1234",
                    "class_code: 060400", "aer_cor_status: 0x00000001, aer_cor_mask: 0x00000000",
                    "aer_uncor_status: 0x00000010, aer_uncor_mask: 0x00000000",
                    "aer_uncor_severity: 0x00000000", "TLP Header: 00000000 00000000 00000000 00000000"]


def test_kernel_timestamp_line_for_v300_entry():
    lines = _lines(_block("platform_memory", {"physical_address": 1},
                          revision=0x300, timestamp="2026-11-21T10:20:30 precise",
                          validation_bits={"timestamp": True}))
    assert lines[3] == "{1}[Hardware Error]:  precise tstamp: 2026-11-21 10:20:30"


# -- bad input ---------------------------------------------------------------------------------

def test_section_outside_record_is_isolated():
    spec = {"sections": [{"descriptor": {"section_type": "platform_memory"}, "body": {"node": 1}},
                         {"descriptor": {"section_type": "firmware_error_record"},
                          "body": {"record_type": 1}}]}
    raw = bytearray(build_document(spec))
    raw[128 + 72 + 4:128 + 72 + 8] = (5000).to_bytes(4, "little")   # second section_length lies
    doc, warnings = decode_document(bytes(raw))
    sections = doc["records"][0]["sections"]
    assert sections[0]["body"]["node"] == 1 and "error" not in sections[0]
    assert "outside" in sections[1]["error"]
    assert warnings[0].field == "records[0].sections[1].descriptor.section_offset"
    assert build_document(json.loads(json.dumps(doc))) == bytes(raw)


def test_lying_count_inside_section_is_isolated():
    spec = {"sections": [{"descriptor": {"section_type": "nvidia"},
                          "body": {"signature": "X", "registers": [{"address": 1, "value": 2}]}}]}
    raw = bytearray(build_document(spec))
    raw[200 + 22] = 0xFF                                              # number_regs
    doc, warnings = decode_document(bytes(raw))
    sec = doc["records"][0]["sections"][0]
    assert "number_regs says 255" in sec["error"] and "data" in sec["body"]
    assert warnings[0].offset == 200 + 32
    assert build_document(doc) == bytes(raw)


@pytest.mark.parametrize("mutate, field", [
    (lambda r: r.__setitem__(slice(20, 24), (9999).to_bytes(4, "little")), "records[0].header.record_length"),
    (lambda r: r.__setitem__(slice(10, 12), (60).to_bytes(2, "little")), "records[0].header.section_count"),
    (lambda r: r.__setitem__(slice(0, 4), b"CPEX"), None),
])
def test_record_framing_errors_name_field(mutate, field):
    raw = bytearray(build_document(memory_error_spec(0x1000, "fatal", estatus=False)))
    mutate(raw)
    with pytest.raises(ApeiError) as err:
        decode_document(bytes(raw), form="record", label="x.cper")
    if field:
        assert err.value.field == field
    assert err.value.one_line().startswith("x.cper: offset 0x")


def test_estatus_entry_running_past_data_length():
    raw = bytearray(QEMU_BLOCK)
    raw[20 + 24:20 + 28] = (500).to_bytes(4, "little")
    with pytest.raises(DecodeError) as err:
        decode_document(bytes(raw), form="estatus")
    assert err.value.field == "blocks[0].entries[0].error_data_length"
    assert err.value.offset == 44


def test_spec_errors_name_path():
    with pytest.raises(SpecError) as err:
        build_document({"sections": [{"descriptor": {"section_type": "platform_memory"},
                                      "body": {"nod": 1}}]})
    assert err.value.field == "record.sections[0].body"
    with pytest.raises(SpecError) as err:
        build_document({"sections": [{"descriptor": {"section_type": "platform_memory"},
                                      "body": {"node": 1 << 20}}]})
    assert err.value.field == "record.sections[0].body.node"


def test_validation_bits_derived_from_given_fields():
    raw = build_document({"sections": [{"descriptor": {"section_type": "platform_memory"},
                                        "body": {"physical_address": 5, "node": 2}}]})
    doc, _ = decode_document(raw)
    assert doc["records"][0]["sections"][0]["body"]["validation_bits"] == 0x2 | 0x8


# -- random specs of every section type --------------------------------------------------------

@st.composite
def section_specs(draw):
    """A body of a random section type, from apeitool.gen with a random source hypothesis drives."""
    from apeitool.gen import section_body
    key = draw(st.sampled_from(sorted(BODIES)))
    return key, section_body(key, draw(st.randoms(use_true_random=False)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(section_specs(), st.booleans())
def test_random_sections_round_trip(spec, as_estatus):
    key, body = spec
    if as_estatus:
        doc = {"form": "estatus", "blocks": [_block(key, body)]}
    else:
        doc = {"sections": [{"descriptor": {"section_type": key}, "body": body}]}
    raw = build_document(doc)
    decoded, warnings = decode_document(raw, form="estatus" if as_estatus else "record")
    assert build_document(json.loads(json.dumps(decoded))) == raw
    items = decoded["blocks"][0]["entries"] if as_estatus else decoded["records"][0]["sections"]
    assert "error" not in items[0]


# -- CLI ---------------------------------------------------------------------------------------

def test_cli_build_and_decode_formats(tmp_path):
    runner = CliRunner()
    out = tmp_path / "mem.bin"
    r = runner.invoke(main, ["build", "cper", "--memory-error", "--pa", "0x40fa6000", "--estatus",
                             "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == QEMU_BLOCK
    r = runner.invoke(main, ["decode", "estatus", "-f", "kernel", "--source-id", "3", str(out)])
    assert r.exit_code == 0
    assert "Generic Hardware Error Source: 3" in r.output
    r = runner.invoke(main, ["decode", str(out)])
    assert r.exit_code == 0 and "Platform Memory" in r.output and "(not valid)" in r.output
    r = runner.invoke(main, ["decode", "-f", "libcper", str(out)])
    assert r.exit_code == 2 and "status blocks" in r.output
    rec = tmp_path / "mem.cper"
    r = runner.invoke(main, ["build", "cper", "--memory-error", "--pa", "0x1000", "-o", str(rec)])
    assert r.exit_code == 0
    r = runner.invoke(main, ["decode", "-f", "libcper", str(rec)])
    got = json.loads(r.output)
    assert got["sections"][0]["Memory"]["physicalAddressHex"] == "0x0000000000001000"
    r = runner.invoke(main, ["decode", "-f", "json", str(rec)])
    spec = tmp_path / "spec.json"
    spec.write_text(r.output)
    r = runner.invoke(main, ["build", "cper", str(spec), "-f", "hex"])
    assert r.exit_code == 0 and "43 50 45 52" in r.output.upper().replace("  ", " ")


def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.cper"
    bad.write_bytes(b"CPER" + bytes(20))
    r = runner.invoke(main, ["decode", "cper", str(bad)])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "bad.cper" in r.output
    r = runner.invoke(main, ["build", "cper", "--memory-error"])
    assert r.exit_code == 2 and "--pa" in r.output
    r = runner.invoke(main, ["decode", "-f", "iasl", str(bad)])
    assert r.exit_code == 2


def test_api_iterates_records_lazily():
    raw = build_document(memory_error_spec(0x1000, "fatal", estatus=False)) * 3
    models = list(apeitool.iter_cper(raw))
    assert len(models) == 3 and models[2][0]["header"]["error_severity"] == "fatal"
    assert apeitool.decode(raw)[0].kind == "cper"


def test_nvidia_event_with_a_signed_count_and_empty_contexts_ends():
    """libcper reads EventContextCount as a signed char (>= 128 never ends its loop) and walks
    contexts by their CtxSize (0 never advances): where it would spin, the renderer stops."""
    from apeitool.render import libcper
    body = bytearray(32 + 3 + 16)
    body[0], body[1], body[2] = 1, 0xFF, 4                # version 1, count -1, source SWX
    body[32:35] = bytes([0, 0, 3])                         # info version 0.0, info size 3
    record = build_document({"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "nvidia_event"}, "body": {"data": body.hex()}}]}]})
    doc, _ = decode_document(record)
    out = libcper.document(doc)
    [ctx] = out["sections"][0]["NvidiaEvent"]["eventContexts"]
    assert ctx["dataSize"] == 0 and ctx["data"] == {"opaque": ""}


def _pcie_record(capability: bytes, aer: bytes, class_code=0x010802, port_type=4):
    body = {"validation_bits": 0xFF, "port_type": port_type,
            "version": {"minor": 0x10, "major": 0x02}, "command": 0, "status": 0,
            "device_id": {"vendor_id": 0x8086, "device_id": 0x1234, "class_code": class_code,
                          "function": 1, "device": 2, "segment": 0x1234, "primary_bus": 3,
                          "secondary_bus": 4, "slot": 0x1FF8},
            "serial_number": 7, "bridge": {"secondary_status": 0, "control": 0},
            "capability": capability.hex(), "aer_info": aer.hex()}
    return build_document({"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "pcie"}, "body": body}]}]})


def _libcper_pcie(record):
    from apeitool.render import libcper
    doc, _ = decode_document(record)
    return libcper.document(doc)["sections"][0]["Pcie"]


def test_pcie_registers_read_where_the_pcie_spec_puts_them():
    cap = bytearray(60)
    cap[0:2] = bytes([0x10, 0x00])                      # PCI Express capability id 0x10
    cap[2:4] = (2 | 4 << 4 | 1 << 8).to_bytes(2, "little")  # version 2, root port, slot implemented
    cap[0x2C:0x30] = (0b0001110 << 1 | 1 << 8 | 1 << 31).to_bytes(4, "little")  # 5/8/16 GT/s, crosslink, DRS
    cap[0x30:0x32] = (3 | 1 << 4).to_bytes(2, "little")  # target 8 GT/s, enter compliance
    cap[0x32:0x34] = (1 << 1 | 1 << 15).to_bytes(2, "little")  # equalization complete, DRS message
    aer = bytearray(96)
    aer[0x04:0x08] = (1 << 12 | 1 << 18).to_bytes(4, "little")  # poisoned TLP, malformed TLP
    aer[0x0C:0x10] = (1 << 18).to_bytes(4, "little")            # malformed TLP is fatal
    aer[0x30:0x34] = (21 << 27).to_bytes(4, "little")           # interrupt message number 21
    out = _libcper_pcie(_pcie_record(bytes(cap), bytes(aer)))
    cs = out["capabilityStructure"]
    assert cs["pcie_capabilities"]["device_port_type"] == {"raw": 4, "value": "ROOT_PORT"}
    assert cs["pcie_capabilities"]["slot_implemented"] is True
    assert cs["link_capabilities2"]["supported_link_speeds"] == 0b0001110
    assert cs["link_capabilities2"]["crosslink_supported"] == "Supported"
    assert cs["link_capabilities2"]["drs_supported"] == "Supported"
    assert cs["link_control2"]["target_link_speed"] == {"raw": 3}
    assert cs["link_control2"]["enter_compliance"] == "Supported"
    assert cs["link_status2"]["equalization_8gts_complete"] is True
    assert cs["link_status2"]["drs_message_received"] is True
    ue = out["aerInfo"]["uncorrectable_error_status"]
    assert ue["poisoned_tlp_received"] and ue["malformed_tlp_status"] and not ue["ecrc_error_status"]
    assert out["aerInfo"]["uncorrectable_error_severity"]["malformed_tlp_severity"] == "Fatal"
    assert out["aerInfo"]["root_error_status"]["advanced_error_interrupt_message_number"] == 21
    # the same bytes as libcper reads them: the differences the README lists
    from apeitool.render import libcper_pcie
    doc, _ = decode_document(_pcie_record(bytes(cap), bytes(aer)))
    _msg, theirs = libcper_pcie.section(doc["records"][0]["sections"][0]["body"], libcper_bugs=True)
    assert theirs["capabilityStructure"]["pcie_capabilities"]["device_port_type"]["value"] == "DOWNSTREAM"
    assert theirs["capabilityStructure"]["link_control2"]["target_link_speed"] == {"raw": 0}
    assert theirs["aerInfo"]["root_error_status"]["advanced_error_interrupt_message_number"] == (21 << 2) & 0x1F


def test_pcie_version_1_capability_stops_at_root_status():
    cap = bytearray(60)
    cap[2] = 1
    cs = _libcper_pcie(_pcie_record(bytes(cap), bytes(96)))["capabilityStructure"]
    assert "root_status" in cs and "device_capabilities2" not in cs and "link_status2" not in cs


def test_pcie_device_id_names_the_class_and_keeps_libcper_hex_forms():
    dev = _libcper_pcie(_pcie_record(bytes(60), bytes(96)))["deviceID"]
    assert dev["class"] == "NVM Express (NVMe) I/O controller"
    assert dev["classCode_Hex"] == "0x010802" and dev["deviceID_Hex"] == "0x1234"
    assert dev["segmentNumber"] == 0x1234 and dev["segmentNumber_Hex"] == "0x34"   # 8-bit in libcper
    assert dev["slotNumber"] == 0x3FF and dev["slotNumber_Hex"] == "0xFF"
    assert _libcper_pcie(_pcie_record(bytes(60), bytes(96), class_code=0x0101AB))["deviceID"]["class"] \
        == "IDE controller"                                # any programming interface
    assert "class" not in _libcper_pcie(_pcie_record(bytes(60), bytes(96), class_code=0x7F0000))["deviceID"]


def test_nvidia_cmet_info_registers_read_as_channel_status():
    from apeitool.render import libcper
    value = (0xFFFFFFFE) | 1 << 32 | 2 << 35                # count -2, enabled, not spare, reason 2
    body = {"signature": "CMET-INFO", "error_type": 1, "error_instance": 2, "severity": 2, "socket": 1,
            "number_regs": 1, "reserved": 0, "instance_base": 0,
            "registers": [{"address": 0xABC, "value": value}]}
    record = build_document({"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "nvidia"}, "body": body}]}]})
    doc, _ = decode_document(record)
    nv = libcper.document(doc)["sections"][0]["Nvidia"]
    assert "registers" not in nv
    assert nv["CMETInfo"] == [{"ChannelAddress": "0x0000000000000ABC", "ErrorCount": -2,
                               "ChannelEnabled": True, "ChannelIsSpare": False,
                               "DisabledReason": {"raw": 2, "value": "Training at boot frequency failed"}}]


def _nvidia_event_record(contexts, count=None):
    body = {"version": 1, "source_device_type": 1, "event_type": 2, "event_subtype": 3, "link_id": 0,
            "signature": "XID", "info_version_minor": 0, "info_version_major": 1,
            "info": bytes(13).hex(), "contexts": contexts}
    if count is not None:
        body["context_count"] = count
    return build_document({"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "nvidia_event"}, "body": body}]}]})


def test_nvidia_event_decodes_into_named_fields_and_derives_sizes():
    ctx = {"version": 1, "data_format_type": 0x8001, "data_format_version": 0, "data_size": 8,
           "data": (45).to_bytes(4, "little").hex() + b"oops".hex()}
    record = _nvidia_event_record([ctx])
    doc, warnings = decode_document(record)
    assert warnings == []
    body = doc["records"][0]["sections"][0]["body"]
    assert body["context_count"] == 1 and body["info_size"] == 3 + 13 and body["signature"] == "XID"
    [c] = body["contexts"]
    assert c["context_size"] == 16 + 8 and c["data_format_type"] == 0x8001
    assert build_document(json.loads(json.dumps(doc))) == record
    from apeitool.render import libcper
    [nv] = libcper.document(doc)["sections"]
    assert nv["NvidiaEvent"]["eventContexts"][0]["data"]["gpuLegacyXid"] == {"xidCode": 45, "message": "oops"}


@pytest.mark.parametrize("count, size, field", [(200, None, "context_count"), (None, 7, "context_size")])
def test_nvidia_event_lying_sizes_keep_the_bytes_and_name_the_field(count, size, field):
    ctx = {"version": 1, "data_format_type": 1, "data_format_version": 0, "data_size": 0, "data": ""}
    if size is not None:
        ctx["context_size"] = size
    record = _nvidia_event_record([ctx], count=count)
    doc, warnings = decode_document(record)
    section = doc["records"][0]["sections"][0]
    assert "data" in section["body"] and warnings and warnings[0].field.endswith(field)
    assert build_document(doc) == record


def test_text_tree_shows_pcie_registers_decoded(tmp_path):
    aer = bytearray(96)
    aer[0x04:0x08] = (1 << 18).to_bytes(4, "little")            # malformed TLP
    cap = bytearray(60)
    cap[2] = 0x42                                              # version 2, root port
    path = tmp_path / "pcie.cper"
    path.write_bytes(_pcie_record(bytes(cap), bytes(aer)))
    r = CliRunner().invoke(main, ["decode", str(path)])
    assert r.exit_code == 0, r.output
    assert "aer_info (decoded)" in r.output and "malformed_tlp_status: yes" in r.output
    assert "ecrc_error_status: no" in r.output and "value: ROOT_PORT" in r.output


# -- printers as the kernel's format strings print (issue: --format kernel byte for byte) -----------

def _kernel_text(spec, kind="estatus"):
    from apeitool.render.kernel import document
    raw = apeitool.build(spec, kind)
    [d] = apeitool.decode_bytes(raw, kind=kind)
    return document(d.model, "arm64")


def test_block_status_zero_prints_nothing():
    # ghes_read_estatus: a block whose block_status is 0 holds no record (-ENOENT): nothing printed
    spec = {"form": "estatus", "blocks": [{"block_status": 0, "error_severity": "corrected", "entries": [
        {"section_type": "platform_memory", "error_severity": "corrected", "body": {"physical_address": 0x1000}}]}]}
    assert _kernel_text(spec) == ""


def test_u32_fields_printed_with_percent_d_go_negative():
    # cper_print_pcie: "port_type: %d" of a u32; cper_print_proc_arm: "...state: %d" of a u32
    pcie = {"form": "estatus", "blocks": [{"block_status": {"correctable": True}, "error_severity": "corrected",
                                           "entries": [{"section_type": "pcie", "error_severity": "corrected",
                                                        "body": {"port_type": 0x80000004}}]}]}
    assert "port_type: -2147483644, unknown" in _kernel_text(pcie)
    arm = {"form": "estatus", "blocks": [{"block_status": {"correctable": True}, "error_severity": "corrected",
                                          "entries": [{"section_type": "arm", "error_severity": "corrected",
                                                       "body": {"validation_bits": 4, "section_length": 40,
                                                                "running_state": 0, "psci_state": 0xFFFFFFFE}}]}]}
    assert "Power State Coordination Interface state: -2\n" in _kernel_text(arm)


def test_arm_section_length_past_2_31_is_negative_and_too_small():
    # cper_print_proc_arm: int len = section_length - (40 + 32 * ERR_INFO_NUM); "%d" of the length
    arm = {"form": "estatus", "blocks": [{"block_status": {"correctable": True}, "error_severity": "corrected",
                                          "entries": [{"section_type": "arm", "error_severity": "corrected",
                                                       "body": {"validation_bits": 4, "section_length": 0x90000000,
                                                                "running_state": 0}}]}]}
    text = _kernel_text(arm)
    assert f"section length: {0x90000000 - (1 << 32)}\n" in text and "section length is too small" in text
    assert "vendor" not in text.lower()


# -- the printers walk bytes as the kernel's do (per kernel version) --------------------------------------

def _ia32_raw(ctx_sizes, pad):
    import struct
    import uuid
    out = struct.pack("<QQ", (1 << 2) | (len(ctx_sizes) << 8) | 1, 0x12) + bytes(48)
    out += uuid.UUID("a55701f5-e3ef-43de-ac72-249b573fad2c").bytes_le + struct.pack("<QQQQQQ", 1, 0x10001, 0, 0, 0, 0)
    for i, n in enumerate(ctx_sizes):
        ctx = struct.pack("<HHIQ", 2, n, 0, 0) + bytes([0x40 + i]) * n
        out += ctx + (bytes(-len(ctx) % 16) if pad else b"")
    return out


def _doc_lines(block, arch, version, warnings=None):
    doc, _ = decode_document(build_block(block))
    return kernel.document(doc, arch, 0, version, warnings.append if warnings is not None else None).splitlines()


def test_ia32_contexts_at_each_versions_stride():
    """UEFI pads IA32/X64 contexts to 16 bytes. "Fix cper_ia_proc_ctx alignment" (7.2 has it)
    walks them so; 6.12 walks back to back and reads the padding as the next context."""
    padded = _block("ia32x64", {"data": _ia32_raw([8, 24], True).hex()})
    sizes = {v: [l.split(": ")[-1] for l in _doc_lines(padded, "x86_64", v) if "Register Array Size" in l]
             for v in ("6.12", "7.2")}
    assert sizes == {"6.12": ["0x0008", "0x0000"], "7.2": ["0x0008", "0x0018"]}
    unpadded = _block("ia32x64", {"data": _ia32_raw([8, 24], False).hex()})
    sizes = [l.split(": ")[-1] for l in _doc_lines(unpadded, "x86_64", "6.12") if "Register Array Size" in l]
    assert sizes == ["0x0008", "0x0018"]


def test_arm_vendor_bytes_come_from_after_the_contexts_even_into_the_next_entry():
    """cper_print_proc_arm dumps `len` vendor bytes from where the last context ended; a
    section_length larger than the entry makes it read the next entry's header."""
    import struct
    info = struct.pack("<BBHBHBQQQ", 0, 32, 0, 2, 0, 0, 0, 0, 0)
    ctx = struct.pack("<HHI", 0, 4, 8) + bytes(range(8))
    body = info + ctx + b"\xAA\xBB"
    arm = struct.pack("<IHHIB3xQQII", 0, 1, 1, 40 + len(body) + 16, 0, 0, 0x410FD0C0, 0, 0) + body
    block = {"error_severity": "corrected", "entries": [
        {"section_type": "arm", "error_severity": "corrected", "body": {"data": arm.hex()}},
        {"section_type": "platform_memory", "error_severity": "corrected", "body": {"physical_address": 0x1000}}]}
    lines = _doc_lines(block, "arm64", "6.12")
    at = lines.index("{1}[Hardware Error]:   Vendor specific error info has 18 bytes:")
    # AA BB, then the next generic data entry: the memory section's GUID, little-endian groups of 4
    import uuid
    nxt = b"\xAA\xBB" + uuid.UUID("a5bc1114-6f64-4ede-b863-3e83ed7c83b1").bytes_le
    words = " ".join(nxt[i:i + 4][::-1].hex() for i in range(0, 16, 4))
    assert lines[at + 1] == "{1}[Hardware Error]:    00000000: " + words + "  " + \
        "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in nxt[:16])
    # a 2-byte last row falls back to 1-byte groups; the ASCII column is then at 16*2 + 16 + 1
    assert lines[at + 2] == "{1}[Hardware Error]:    00000010: " + nxt[16:18].hex(" ").ljust(49) + \
        "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in nxt[16:18])


def test_short_cxl_error_log_reads_the_whole_ras_capability():
    """cper_print_prot_err reads the 88-byte RAS capability after the DVSEC whatever
    err_len says: a 4-byte log prints the next entry's bytes in the later registers."""
    from apeitool.gen import section_body
    import random
    body = section_body("cxl_protocol", random.Random(3))
    body.update(validation_bits=1 << 6, dvsec_length=0, dvsec="", error_log_length=4, error_log="11223344")
    block = {"error_severity": "corrected", "entries": [
        {"section_type": "cxl_protocol", "error_severity": "corrected", "body": body},
        {"section_type": "platform_memory", "error_severity": "corrected", "body": {"physical_address": 0x1000}}]}
    lines = _doc_lines(block, "arm64", "latest")
    assert "{1}[Hardware Error]:    cxl_ras_uncor_status: 0x44332211" in lines
    # bytes 4..8 of the log are the next entry's first four: the memory section GUID a5bc1114
    assert "{1}[Hardware Error]:    cxl_ras_uncor_mask: 0xa5bc1114" in lines


def test_a_read_past_the_record_stops_the_dump_and_is_warned():
    """An IA32/X64 context whose size runs past the end of the status block: the kernel dumps
    unrelated memory; apeitool stops at the last known byte and says so."""
    raw = bytearray(_ia32_raw([8], False))
    raw[64 + 64 + 2:64 + 64 + 4] = (0x400).to_bytes(2, "little")      # array size 1024, 8 present
    warnings = []
    lines = _doc_lines(_block("ia32x64", {"data": raw.hex()}), "x86_64", "latest", warnings)
    assert "{1}[Hardware Error]:    Register Array Size: 0x0400" in lines
    assert warnings and "past the end of the record" in warnings[0]
    assert not any("00000010:" in l for l in lines)


def test_versions_of_the_memory_location_and_aer_gate():
    lines = {v: _doc_lines(_block("platform_memory", {"node": 1, "card": 2, "target_id": 5,
                                                      "validation_bits": 0x8 | 0x10 | 0x2000}), "arm64", v)
             for v in ("5.10", "6.1")}
    assert lines["5.10"][-1].endswith("node: 1 card: 2 ")             # target_id lost, space after colon
    assert lines["6.1"][-1].endswith("node:1 card:2 target_id:0x0000000000000005 ")
    pcie = {"validation_bits": 0x80, "aer_info": bytes(range(96)).hex()}
    for version, sev, expect in (("6.1", "corrected", 0), ("6.1", "informational", 3), ("6.12", "corrected", 4)):
        got = [l for l in _doc_lines(_block("pcie", pcie, sev), "arm64", version) if "aer_" in l or "TLP" in l]
        assert len(got) == expect, (version, sev, got)


def test_text_tree_gives_each_field_its_spec_name_and_byte_offset(tmp_path):
    """Like the HEST tree: every field a structure has reads '<offset> <spec name>: value', the
    offset counted in the input file, so the field can be found in a hex dump."""
    one = apeitool.build({"records": [{"sections": [
        {"descriptor": {"section_type": "arm"}, "body": {"mpidr": 0x80000001, "error_info": [{"type": 2}],
                                                         "context": [{"register_array": "00" * 8}]}}]}]}, "cper")
    path = tmp_path / "two.cper"
    path.write_bytes(one + one)
    r = CliRunner().invoke(main, ["decode", str(path)])
    assert r.exit_code == 0, r.output
    second = len(one)
    body = second + 128 + 72          # the second record's only section starts after its descriptor
    for off, text in [(second + 0x14, "Record Length"), (second + 128 + 0x10, "Section Type"),
                      (body, "ARM Processor"), (body + 16, "MPIDR_EL1: 2147483649 (0x80000001)"),
                      (body + 40, "[0]"), (body + 40 + 4, "Type: 2"),
                      (body + 40 + 32 + 8, "Register Array: 0000000000000000")]:
        assert f"{off:04X} {text}" in r.output, (off, text)
