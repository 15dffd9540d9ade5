"""validate: every rule fires on an input made to break it and stays quiet on a clean one; the real
tables' known bugs are found; the CLI's formats and exit codes."""
from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

import apeitool
from apeitool.cli import main
from apeitool.validate import RULES, load_rules, validate_bytes
from conftest import CORPUS, corpus_params

load_rules()

GAS = {"space_id": "SYSTEM_MEMORY", "bit_width": 64, "bit_offset": 0, "access_size": "QWORD"}


def _gas(address, **kw):
    return {**GAS, "address": address, **kw}


# clean inputs: no rule fires on them (see test_baselines_are_clean)
HEST_ARM = {"sources": [
    {"type": "GHES_V2", "source_id": 0, "max_raw_data_length": 1024, "error_status_block_length": 1024,
     "error_status_address": _gas(0x46360000), "notify": {"type": "SEA"},
     "read_ack_register": _gas(0x46360010)},
    {"type": "GHES_V2", "source_id": 1, "max_raw_data_length": 1024, "error_status_block_length": 1024,
     "error_status_address": _gas(0x46360008), "notify": {"type": "GPIO_SIGNAL"},
     "read_ack_register": _gas(0x46360018)},
]}
HEST_X86 = {"sources": [
    {"type": "IA32_CMC", "source_id": 0, "flags": {"firmware_first": True},
     "notify": {"type": "POLLED", "poll_interval": 1000},
     "banks": [{"bank_number": 0, "status_format": "INTEL64_MCA", "control_register": 0x400}]},
    {"type": "GHES", "source_id": 1, "error_status_address": _gas(0x7F000000),
     "notify": {"type": "NMI"}, "error_status_block_length": 4096, "max_raw_data_length": 4096},
    {"type": "GHES", "source_id": 2, "error_status_address": _gas(0x7F000008),
     "notify": {"type": "POLLED", "poll_interval": 60000}, "error_status_block_length": 4096},
    {"type": "AER_ROOT_PORT", "source_id": 3, "flags": {"global": True}},
]}
BERT = {"header": {"signature": "BERT"}, "boot_error_region_length": 0x1000,
        "boot_error_region_address": 0x7000_0000}


def _entries(actions, kind):
    out = []
    for i, action in enumerate(actions):
        out.append({"action": action, "instruction": "WRITE_REGISTER_VALUE" if i % 2 else "READ_REGISTER",
                    "register_region": _gas(0x7E000000 + 8 * i), "value": 0, "mask": 0xFFFFFFFFFFFFFFFF})
    return out


EINJ = {"header": {"signature": "EINJ"}, "injection_header_size": 12,
        "entries": _entries(list(range(10)), "einj")}
ERST = {"header": {"signature": "ERST"}, "serialization_header_size": 48,
        "entries": _entries([a for a in range(0x11) if a != 0x0C], "erst")}
RECORD = {"records": [{"header": {}, "sections": [
    {"descriptor": {"section_type": "platform_memory"}, "body": {"physical_address": 0x1000}}]}]}
BLOCK = {"blocks": [{"error_severity": "recoverable", "entries": [
    {"section_type": "platform_memory", "error_severity": "recoverable", "revision": 0x300,
     "body": {"physical_address": 0x40FA6000}}]}]}

BASELINES = {"hest": HEST_ARM, "bert": BERT, "einj": EINJ, "erst": ERST, "cper": RECORD, "estatus": BLOCK}


def build(kind, spec):
    if kind in ("cper", "estatus"):
        return apeitool.build(spec, kind)
    return apeitool.build(spec, kind)


def mutate(spec, fn):
    spec = copy.deepcopy(spec)
    fn(spec)
    return spec


def src(i, **kw):
    """A mutation setting fields of sources[i] (dotted keys go one level down)."""
    def fn(spec):
        for k, v in kw.items():
            target = spec["sources"][i]
            *head, last = k.split("__")
            for h in head:
                target = target.setdefault(h, {})
            target[last] = v
    return fn


def ent(i, **kw):
    def fn(spec):
        spec["entries"][i].update(kw)
    return fn


def top(**kw):
    def fn(spec):
        for k, v in kw.items():
            if k == "header":
                spec.setdefault("header", {}).update(v)
            else:
                spec[k] = v
    return fn


def patch(raw: bytes, offset: int, data: bytes) -> bytes:
    return raw[:offset] + data + raw[offset + len(data):]


def _hest_raw_bad_type():
    raw = bytearray(build("hest", HEST_ARM))
    raw[40] = 3   # legacy type 3 has no defined length
    raw[9] = (raw[9] - 3) & 0xFF
    return bytes(raw)


def _with_checksum_broken():
    raw = bytearray(build("hest", HEST_ARM))
    raw[9] ^= 0xFF
    return bytes(raw)


def _assist_pair(spec):
    spec["sources"][0]["flags"] = {"ghes_assist": True}
    spec["sources"][1]["related_source_id"] = 0


def _record_section(**desc):
    return {"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "platform_memory", **desc}, "body": {"physical_address": 0x1000}}]}]}


# rule id -> (kind, input: spec / bytes / callable returning bytes, target, extra kwargs)
CASES = {
    "TABLE.STRUCTURE": ("hest", _hest_raw_bad_type, None),
    "TABLE.CHECKSUM": ("hest", _with_checksum_broken, None),
    "TABLE.TRAILING_BYTES": ("hest", lambda: build("hest", HEST_ARM) + b"\xAA" * 8, None),
    "TABLE.HEADER_ONLY": ("bert", lambda: build("bert", mutate(BERT, top(header={"length": 36})))[:36], None),
    "TABLE.REVISION": ("erst", mutate(ERST, top(header={"signature": "ERST", "revision": 3})), None),
    "TABLE.NAME_NON_ASCII": ("hest", mutate(HEST_ARM, top(header={"oem_id": "AB\x01CDE"})), None),
    "TABLE.NAME_NUL_PADDED": ("hest", mutate(HEST_ARM, top(header={"oem_id": "AMI"})), None),
    "ACPI.GAS.WIDTH_EXCEEDS_ACCESS": ("hest", mutate(HEST_ARM, src(0, error_status_address=_gas(
        0x46360000, bit_width=32, access_size="BYTE"))), None),
    "ACPI.GAS.UNALIGNED": ("einj", mutate(EINJ, ent(1, register_region=_gas(0x7E000004))), None),
    "LINUX.GAS.ADDRESS_ZERO": ("hest", mutate(HEST_ARM, src(0, read_ack_register=_gas(0))), None),
    "LINUX.GAS.ACCESS_SIZE": ("erst", mutate(ERST, ent(0, register_region=_gas(0x7E000000,
                                                                               access_size="UNDEFINED"))), None),
    "LINUX.GAS.BIT_WIDTH": ("hest", mutate(HEST_ARM, src(1, error_status_address=_gas(0x46360008, bit_offset=8))),
                            None),
    "LINUX.GAS.SPACE": ("hest", mutate(HEST_ARM, src(0, error_status_address=_gas(0x100, space_id="PCI_CONFIG"))),
                        None),
    # HEST
    "HEST.COUNT_MISMATCH": ("hest", mutate(HEST_ARM, top(error_source_count=3)), None),
    "HEST.SINGLETON": ("hest", mutate(HEST_X86, lambda s: s["sources"].append(
        copy.deepcopy(s["sources"][0]) | {"source_id": 9})), None),
    "HEST.DUPLICATE_SOURCE_ID": ("hest", mutate(HEST_X86, src(3, source_id=1)), None),
    "HEST.RESERVED_NONZERO": ("hest", mutate(HEST_X86, src(1, reserved1=3)), None),
    "HEST.ENABLED_VALUE": ("hest", mutate(HEST_ARM, src(1, enabled=2)), None),
    "HEST.RECORDS_TO_PREALLOCATE": ("hest", mutate(HEST_ARM, src(0, records_to_preallocate=0)), None),
    "HEST.MAX_SECTIONS": ("hest", mutate(HEST_X86, src(3, max_sections_per_record=0)), None),
    "HEST.MC.FLAGS_RESERVED": ("hest", mutate(HEST_X86, src(0, flags={"firmware_first": True, "reserved": 0x10})),
                               None),
    "HEST.MC.FF_WITH_ASSIST": ("hest", mutate(HEST_X86, src(0, flags={"firmware_first": True,
                                                                    "ghes_assist": True})), None),
    "HEST.BANK.CLEAR_STATUS": ("hest", mutate(HEST_X86, lambda s: s["sources"][0]["banks"][0].update(
        clear_status_on_init=2)), None),
    "HEST.BANK.STATUS_FORMAT": ("hest", mutate(HEST_X86, lambda s: s["sources"][0]["banks"][0].update(
        status_format=3)), None),
    "HEST.AER.FLAGS_RESERVED": ("hest", mutate(HEST_X86, src(3, flags={"global": True, "reserved": 0x80})), None),
    "HEST.AER.BUS_RESERVED": ("hest", mutate(HEST_X86, src(3, bus=0x01000000)), None),
    "HEST.AER.GLOBAL_DUPLICATE": ("hest", mutate(HEST_X86, lambda s: s["sources"].append(
        {"type": "AER_ROOT_PORT", "source_id": 8})), None),
    "HEST.AER.FF_ENABLED_IGNORED": ("hest", mutate(HEST_X86, src(3, flags={"firmware_first": True}, enabled=0)),
                                    None),
    "HEST.NOTIFY.TYPE_RESERVED": ("hest", mutate(HEST_ARM, src(1, notify__type=12)), None),
    "HEST.GHES.NOTIFY_LENGTH": ("hest", mutate(HEST_ARM, src(0, notify__length=0x5C)), None),
    "HEST.NOTIFY.CWE_RESERVED": ("hest", mutate(HEST_X86, src(2, notify__config_write_enable={"reserved": 0x6000})),
                                 None),
    "HEST.NOTIFY.POLL_INTERVAL_ZERO": ("hest", mutate(HEST_X86, src(0, notify__poll_interval=0)), None),
    "HEST.NOTIFY.POLL_INTERVAL_UNUSED": ("hest", mutate(HEST_ARM, src(1, notify__poll_interval=3000)), None),
    "HEST.MIXED_ARCH": ("hest", mutate(HEST_X86, src(2, notify__type="SEA")), None),
    "HEST.GHES.RELATED_SOURCE": ("hest", mutate(HEST_X86, src(1, related_source_id=1)), None),
    "HEST.GHES.STATUS_BLOCK_SHARED": ("hest", mutate(HEST_ARM, src(1, error_status_address=_gas(0x46360000))),
                                      None),
    "HEST.GHES.STATUS_ADDRESS_WIDTH": ("hest", mutate(HEST_X86, src(1, error_status_address=_gas(
        0x7F000000, bit_width=32, access_size="DWORD"))), None),
    "HEST.GHES.BLOCK_TOO_SMALL": ("hest", mutate(HEST_ARM, src(0, error_status_block_length=16)), None),
    "HEST.GHES.DISABLED": ("hest", mutate(HEST_ARM, src(1, enabled=0)), None),
    "HEST.GHESV2.READ_ACK_NOOP": ("hest", mutate(HEST_ARM, src(0, read_ack_preserve=0, read_ack_write=0)), None),
    "HEST.GHESV2.READ_ACK_CLOBBERS": ("hest", mutate(HEST_ARM, src(0, read_ack_preserve=0,
                                                                 read_ack_write=0xB1D00000)), None),
    "HEST.GHESV2.READ_ACK_SHARED": ("hest", mutate(HEST_ARM, src(1, read_ack_register=_gas(0x46360010))), None),
    "LINUX.HEST.COUNT_OVERFLOW": ("hest", mutate(HEST_ARM, top(error_source_count=3)), None),
    "HEST.ZERO_GAP": ("hest", mutate(HEST_X86, top(gaps=[{"before_source": 4, "length": 16}])), None),
    "LINUX.HEST.ZERO_GAP_WALK": ("hest", mutate(HEST_X86, top(gaps=[{"before_source": 1, "length": 80}])),
                                 "linux-x86_64"),
    "TABLE.NAME_EMPTY": ("hest", mutate(HEST_ARM, lambda s: s.setdefault("header", {}).update(oem_table_id="")),
                         None),
    "LINUX.HEST.SOURCES_IGNORED": ("hest", mutate(HEST_ARM, top(error_source_count=1)), None),
    "LINUX.HEST.DUPLICATE_GHES_ID": ("hest", mutate(HEST_ARM, src(1, source_id=0)), None),
    "LINUX.HEST.ASSIST_SKIPPED": ("hest", mutate(HEST_X86, _assist_pair), None),
    "LINUX.GHES.NOTIFY_UNSUPPORTED": ("hest", HEST_ARM, "linux-x86_64"),
    "LINUX.GHES.SDEI_EVENT_ZERO": ("hest", mutate(HEST_ARM, src(1, notify__type="SOFTWARE_DELEGATED_EXCEPTION")),
                                   None),
    "LINUX.GHES.BLOCK_LENGTH": ("hest", mutate(HEST_ARM, src(1, error_status_block_length=0)), None),
    "LINUX.GHES.BLOCK_TOO_LONG": ("hest", mutate(HEST_ARM, src(1, error_status_block_length=0x20000)), None),
    "LINUX.GHES.UNALIGNED_REGISTER_ARM64": ("hest", mutate(HEST_ARM, src(0, error_status_address=_gas(0x46360004))),
                                            "linux-arm64"),
    "LINUX.GHES.POLL_DISABLED": ("hest", mutate(HEST_X86, src(2, notify__poll_interval=0)), None),
    # BERT / EINJ / ERST
    "BERT.REGION_EMPTY": ("bert", mutate(BERT, top(boot_error_region_address=0)), None),
    "BERT.REGION_TOO_SHORT": ("bert", mutate(BERT, top(boot_error_region_length=12)), None),
    "BERT.EXTRA_DATA": ("bert", mutate(BERT, top(extra_data="00112233")), None),
    "BERT.REGION_WALK": ("bert", "region", None),
    "EINJ.COUNT_MISMATCH": ("einj", mutate(EINJ, top(injection_entry_count=12)), None),
    "ERST.COUNT_MISMATCH": ("erst", mutate(ERST, top(instruction_entry_count=3)), None),
    "EINJ.HEADER_SIZE": ("einj", mutate(EINJ, top(injection_header_size=16)), None),
    "ERST.HEADER_SIZE": ("erst", mutate(ERST, top(serialization_header_size=36)), None),
    "EINJ.ENTRY_RESERVED": ("einj", mutate(EINJ, ent(2, reserved=1)), None),
    "ERST.ENTRY_RESERVED": ("erst", mutate(ERST, ent(2, reserved=1)), None),
    "EINJ.REQUIRED_ACTIONS": ("einj", mutate(EINJ, lambda s: s["entries"].pop(5)), None),
    "ERST.REQUIRED_ACTIONS": ("erst", mutate(ERST, lambda s: s["entries"].pop(0)), None),
    "EINJ.FLAGS_RESERVED": ("einj", mutate(EINJ, top(injection_flags=1)), None),
    "EINJ.RESERVED": ("einj", mutate(EINJ, top(reserved=5)), None),
    "EINJ.ACTION_RESERVED": ("einj", mutate(EINJ, ent(9, action=0x10)), None),
    "EINJ.INSTRUCTION_RESERVED": ("einj", mutate(EINJ, ent(3, instruction=5)), None),
    "EINJ.SPACE_ID": ("einj", mutate(EINJ, ent(3, register_region=_gas(0x10, space_id="PCI_CONFIG"))), None),
    "ERST.RESERVED": ("erst", mutate(ERST, top(reserved=1)), None),
    "ERST.HEADER_SIZE_OVERFLOW": ("erst", mutate(ERST, top(serialization_header_size=0x10000)), None),
    "ERST.ACTION_INVALID": ("erst", mutate(ERST, ent(3, action=0x20)), None),
    "ERST.ACTION_RESERVED_0C": ("erst", mutate(ERST, lambda s: s["entries"].append(
        {"action": 0x0C, "instruction": "NOOP", "register_region": _gas(0)})), None),
    "ERST.INSTRUCTION_INVALID": ("erst", mutate(ERST, ent(3, instruction=0x13)), None),
    "ERST.FLAGS_INVALID": ("erst", mutate(ERST, ent(1, flags={"preserve_register": True, "reserved": 2})), None),
    "ERST.ACCESS_SIZE": ("erst", mutate(ERST, ent(0, register_region=_gas(0x7E000000, access_size=5))), None),
    "LINUX.ERST.NO_LOG_RANGE": ("erst", mutate(ERST, lambda s: s.update(entries=[
        e for e in s["entries"] if e["action"] != 0x0D])), None),
    # CPER records and status blocks
    "CPER.SIGNATURE_END": ("cper", mutate(RECORD, lambda s: s["records"][0]["header"].update(signature_end=0)), None),
    "CPER.SECTION_COUNT_ZERO": ("cper", {"records": [{"header": {"record_length": 128}, "sections": []}]}, None),
    "CPER.SECTION_BOUNDS": ("cper", _record_section(section_offset=200, section_length=0x1000), None),
    "CPER.SECTION_OVERLAP": ("cper", lambda: patch(build("cper", RECORD), 128, (24).to_bytes(4, "little")), None),
    "CPER.SECTION_BODY": ("cper", {"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "platform_memory"}, "body": {"data": "0011"}}]}]}, None),
    "CPER.SEVERITY_RESERVED": ("cper", _record_section(section_severity=7), None),
    "CPER.RECORD_SEVERITY": ("cper", mutate(RECORD, lambda s: s["records"][0]["header"].update(
        error_severity="corrected")), None),
    "CPER.UNKNOWN_SECTION": ("cper", {"records": [{"header": {}, "sections": [
        {"descriptor": {"section_type": "01234567-89ab-cdef-0123-456789abcdef"}, "body": {"data": "00"}}]}]},
        None),
    "CPER.TRAILING": ("estatus", lambda: build("estatus", BLOCK) + b"\x01\x02\x03", None),
    "ESTATUS.RAW_DATA": ("estatus", mutate(BLOCK, lambda s: s["blocks"][0].update(
        raw_data="aabb", raw_data_offset=24, raw_data_length=2)), None),
    "ESTATUS.SEVERITY_RESERVED": ("estatus", mutate(BLOCK, lambda s: s["blocks"][0].update(error_severity=9)), None),
    "ESTATUS.ENTRY_COUNT": ("estatus", mutate(BLOCK, lambda s: s["blocks"][0].update(
        block_status={"uncorrectable": True, "entry_count": 0})), None),
    "LINUX.ESTATUS.BLOCK_STATUS_ZERO": ("estatus", mutate(BLOCK, lambda s: s["blocks"][0].update(
        block_status={})), None),
    "LINUX.ESTATUS.CHECK": ("estatus", mutate(BLOCK, lambda s: s["blocks"][0].update(
        raw_data="aabb", raw_data_offset=24, raw_data_length=2)), None),
    "LINUX.GHES.MEMORY_NO_ACTION": ("estatus", mutate(BLOCK, lambda s: s["blocks"][0]["entries"][0]["body"].update(
        validation_bits=0x4000)), None),
    "LINUX.GHES.AER_NO_RECOVERY": ("estatus", mutate(BLOCK, lambda s: s["blocks"][0]["entries"].append(
        {"section_type": "pcie", "error_severity": "fatal", "body": {"validation_bits": 0x09, "port_type": 4}})),
        None),
    "LINUX.CPER.SECTION_TOO_SMALL": ("estatus", mutate(BLOCK, lambda s: s["blocks"][0]["entries"][0].update(
        body={"data": "00" * 40})), None),
}


def _region_case():
    """A BERT whose region holds a good block, then one whose data_length runs past the region."""
    good = build("estatus", BLOCK)
    bad = bytearray(good)
    bad[12:16] = (4000).to_bytes(4, "little")
    region = good + bytes(bad)
    return build("bert", mutate(BERT, top(boot_error_region_length=len(region)))), region


def _input(case):
    kind, spec, target = case
    if spec == "region":
        data, region = _region_case()
        return kind, data, target, region
    data = spec() if callable(spec) else build(kind, spec)
    return kind, data, target, None


def test_every_rule_has_a_case():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires(rule_id):
    kind, data, target, region = _input(CASES[rule_id])
    findings = validate_bytes(data, "t", target, region=region)
    hits = [f for f in findings if f.rule == rule_id]
    assert hits, [(f.rule, f.message) for f in findings]
    for f in hits:
        assert f.severity == RULES[rule_id].severity and f.message and f.reference
        assert f.offset is None or 0 <= f.offset < len(data) + 1


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_quiet_on_clean_input(rule_id):
    for kind in RULES[rule_id].kinds:
        baselines = [HEST_ARM, HEST_X86] if kind == "hest" else [BASELINES[kind]]
        for spec in baselines:
            for target in (None, "spec", "linux-arm64", "linux-x86_64"):
                if kind == "hest" and target in ("linux-arm64", "linux-x86_64") and \
                        rule_id == "LINUX.GHES.NOTIFY_UNSUPPORTED":
                    continue   # each baseline is written for one kernel: the other rejects its notifications
                findings = validate_bytes(build(kind, spec), "t", target)
                assert not [f for f in findings if f.rule == rule_id], (kind, target)


def test_baselines_are_clean():
    for kind, spec in list(BASELINES.items()) + [("hest", HEST_X86)]:
        assert validate_bytes(build(kind, spec), kind) == [], kind


def test_notify_support_follows_the_kernel():
    arm_on_x86 = validate_bytes(build("hest", HEST_ARM), "t", "linux-x86_64")
    assert [f.path for f in arm_on_x86 if f.rule == "LINUX.GHES.NOTIFY_UNSUPPORTED"] == ["sources[0].notify.type"]
    assert not [f for f in validate_bytes(build("hest", HEST_ARM), "t", "linux-arm64")
                if f.rule == "LINUX.GHES.NOTIFY_UNSUPPORTED"]
    nmi_on_arm = validate_bytes(build("hest", HEST_X86), "t", "linux-arm64")
    assert [f.path for f in nmi_on_arm if f.rule == "LINUX.GHES.NOTIFY_UNSUPPORTED"] == ["sources[1].notify.type"]
    sei = build("hest", mutate(HEST_ARM, src(1, notify__type="ARMV8_SEI")))
    assert "Unknown notification type" in next(f.message for f in validate_bytes(sei, "t", "linux-arm64")
                                                if f.rule == "LINUX.GHES.NOTIFY_UNSUPPORTED")


def test_targets_select_profiles():
    data = build("hest", mutate(HEST_X86, src(2, notify__poll_interval=0)))
    spec_only = {f.rule for f in validate_bytes(data, "t", "spec")}
    linux_only = {f.rule for f in validate_bytes(data, "t", "linux-x86_64")}
    assert spec_only == {"HEST.NOTIFY.POLL_INTERVAL_ZERO"} and linux_only == {"LINUX.GHES.POLL_DISABLED"}


def test_linux_ignores_sources_past_the_count_for_gas_rules():
    spec = mutate(HEST_ARM, src(1, error_status_address=_gas(0)))
    spec["error_source_count"] = 1
    rules = {f.rule for f in validate_bytes(build("hest", spec), "t")}
    assert "LINUX.HEST.SOURCES_IGNORED" in rules and "LINUX.GAS.ADDRESS_ZERO" not in rules


def test_bert_region_is_checked_as_status_blocks():
    region = build("estatus", mutate(BLOCK, lambda s: s["blocks"][0].update(error_severity=9)))
    bert = build("bert", mutate(BERT, top(boot_error_region_length=len(region))))
    findings = validate_bytes(bert, "t", region=region)
    assert [(f.rule, f.path) for f in findings if f.rule.startswith("ESTATUS")] == \
        [("ESTATUS.SEVERITY_RESERVED", "region.blocks[0].error_severity")]
    assert not [f for f in findings if f.rule == "BERT.REGION_WALK"]      # the walk itself is fine
    data, region = _region_case()
    [walk] = [f for f in validate_bytes(data, "t", region=region) if f.rule == "BERT.REGION_WALK"]
    assert walk.path == "region.blocks[1]" and "Truncated status block" in walk.message


def test_offsets_point_at_the_field():
    data = build("hest", mutate(HEST_ARM, src(1, notify__length=0x5C)))
    [f] = [f for f in validate_bytes(data, "t") if f.rule == "HEST.GHES.NOTIFY_LENGTH"]
    assert data[f.offset] == 0x5C and f.path == "sources[1].notify.length"


# -- the real tables ----------------------------------------------------------------------------------

REAL = CORPUS / "real"
SURVEY_BUGS = [  # (file, rule, path) from the corpus README notes and the real-tables survey
    ("Dell-PrecisionT1700-HEST.dat", "HEST.GHES.RELATED_SOURCE", "sources[0].related_source_id"),
    ("HUANANZHI-X79V2-HEST.dat", "HEST.GHES.RELATED_SOURCE", "sources[1].related_source_id"),
    ("Fujitsu-PRIMERGY-41B1E7-HEST.dat", "HEST.RESERVED_NONZERO", "sources[0].reserved1"),
    ("Fujitsu-PRIMERGY-41B1E7-HEST.dat", "HEST.NOTIFY.POLL_INTERVAL_ZERO", "sources[1].notify.poll_interval"),
    ("HP-ProLiantDL165G7-1979FB-HEST.dat", "ACPI.GAS.WIDTH_EXCEEDS_ACCESS", "sources[0].error_status_address.bit_width"),
    ("HP-ProLiantDL165G7-1979FB-HEST.dat", "HEST.GHES.STATUS_ADDRESS_WIDTH", "sources[1].error_status_address.bit_width"),
    ("Supermicro-X8DTN-F-319567-HEST.dat", "HEST.RESERVED_NONZERO", "sources[1].reserved1"),
    ("DEPO-SuperServer-5ED617-HEST.dat", "HEST.NOTIFY.POLL_INTERVAL_ZERO", "sources[0].notify.poll_interval"),
    ("Supermicro-X11SSM-F-HEST.dat", "HEST.NOTIFY.POLL_INTERVAL_ZERO", "sources[2].notify.poll_interval"),
    ("Supermicro-SMCI-XeonSP-HEST.dat", "HEST.AER.FF_ENABLED_IGNORED", "sources[2].enabled"),
    ("Ampere-Altra-AVA-HEST.dat", "HEST.NOTIFY.POLL_INTERVAL_UNUSED", "sources[0].notify.poll_interval"),
    ("Ampere-Altra-AVA-HEST.dat", "HEST.GHESV2.READ_ACK_SHARED", "sources[1].read_ack_register.address"),
    ("ALASKA-AMI-X79board-HEST.dat", "TABLE.NAME_NUL_PADDED", "header.oem_id"),
    ("HP-ProLiantDL165G7-1979FB-EINJ.dat", "LINUX.GAS.ADDRESS_ZERO", "entries[4].register_region.address"),
    ("Supermicro-X8SIL-40AECB-EINJ.dat", "LINUX.GAS.ADDRESS_ZERO", "entries[4].register_region.address"),
    ("DEPO-SuperServer-5ED617-ERST.dat", "ERST.ACTION_RESERVED_0C", "entries[12].action"),
    ("Supermicro-X8DTN-F-319567-ERST.dat", "LINUX.ERST.NO_LOG_RANGE", "entries"),
]


@pytest.mark.skipif(not REAL.is_dir(), reason=f"corpus not present at {CORPUS}")
@pytest.mark.parametrize("name,rule_id,path", SURVEY_BUGS, ids=[f"{n}:{r}" for n, r, _p in SURVEY_BUGS])
def test_real_table_bugs_are_found(name, rule_id, path):
    data = (REAL / name).read_bytes()
    assert (rule_id, path) in {(f.rule, f.path) for f in validate_bytes(data, name)}


@pytest.mark.parametrize("path", corpus_params("real/Ampere-Altra-AVA-HEST.dat", "qemu/HEST*.dat",
                                               "real/QEMU-*.dat"))
def test_known_good_tables_have_no_errors(path):
    findings = validate_bytes(path.read_bytes(), path.name)
    assert not [f for f in findings if f.severity == "error"], findings


@pytest.mark.parametrize("path", corpus_params("iasl/template/hest.aml", "iasl/template/einj.aml"))
def test_iasl_templates_are_flagged_for_their_count(path):
    rules = {f.rule for f in validate_bytes(path.read_bytes(), path.name)}
    assert {"HEST.COUNT_MISMATCH", "EINJ.COUNT_MISMATCH"} & rules


@pytest.mark.parametrize("path", corpus_params("real/*.dat", "qemu/*.dat", "iasl/*/*.aml", "libcper/*.cper",
                                               "libcper/malformed/*.cper"))
def test_validate_never_crashes_on_the_corpus(path):
    from apeitool.errors import ApeiError
    try:
        findings = validate_bytes(path.read_bytes(), path.name)
    except ApeiError as e:   # unusable input: a one-line error (exit 2)
        assert "\n" not in e.one_line()
        return
    for f in findings:
        assert f.rule in RULES and "\n" not in f.message


# -- CLI --------------------------------------------------------------------------------------------

def _run(*args):
    return CliRunner().invoke(main, ["validate", *map(str, args)])


def test_cli_json_and_exit_codes(tmp_path):
    bad = tmp_path / "bad.aml"
    bad.write_bytes(build("hest", mutate(HEST_ARM, src(0, notify__length=0x5C))))
    result = _run("-f", "json", bad)
    assert result.exit_code == 1
    items = json.loads(result.output)
    assert {"rule", "severity", "path", "offset", "message", "reference"} <= set(items[0])
    good = tmp_path / "good.aml"
    good.write_bytes(build("hest", mutate(HEST_ARM, src(1, notify__poll_interval=5))))  # info only
    assert _run(good).exit_code == 0
    assert _run("--fail-on", "info", good).exit_code == 1
    assert "info" in _run(good).output


def test_cli_unusable_input_exits_2(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x07" * 50)
    result = _run(junk)
    assert result.exit_code == 2 and result.output.startswith("apeitool: error: ")
    assert len(result.output.strip().splitlines()) == 1


def test_cli_truncated_table_is_a_structure_finding(tmp_path):
    path = tmp_path / "t.aml"
    path.write_bytes(_hest_raw_bad_type())
    result = _run(path)
    assert result.exit_code == 1 and "TABLE.STRUCTURE" in result.output and "@0x28" in result.output


def test_cli_list_rules():
    result = _run("--list-rules")
    assert result.exit_code == 0
    for rule_id in RULES:
        assert rule_id in result.output
    listed = json.loads(_run("--list-rules", "-f", "json").output)
    assert {r["rule"] for r in listed} == set(RULES) and all(r["doc"] for r in listed)


def test_cli_help_has_examples():
    result = CliRunner().invoke(main, ["validate", "--help"])
    assert result.exit_code == 0 and "Examples:" in result.output


@pytest.mark.parametrize("severity, threshold, fires", [
    ("recoverable", False, "memory_failure"), ("corrected", True, "soft offline"),
    ("corrected", False, None), ("informational", True, None)])
def test_memory_no_action_follows_the_kernels_severity_gate(severity, threshold, fires):
    spec = mutate(BLOCK, lambda s: s["blocks"][0]["entries"][0].update(
        error_severity=severity, flags={"error_threshold_exceeded": threshold},
        body={"validation_bits": 0, "physical_address": 0x1000}))
    hits = [f for f in validate_bytes(build("estatus", spec), "t", None) if f.rule == "LINUX.GHES.MEMORY_NO_ACTION"]
    assert (fires is None and not hits) or (fires and hits and fires in hits[0].message)


def test_aer_no_recovery_only_for_uncorrected_errors():
    def block(sev, bits):
        return build("estatus", mutate(BLOCK, lambda s: s["blocks"][0]["entries"].append(
            {"section_type": "pcie", "error_severity": sev, "body": {"validation_bits": bits}})))
    rule = "LINUX.GHES.AER_NO_RECOVERY"
    assert not [f for f in validate_bytes(block("corrected", 0), "t", None) if f.rule == rule]
    assert not [f for f in validate_bytes(block("recoverable", 0x88), "t", None) if f.rule == rule]
    [hit] = [f for f in validate_bytes(block("recoverable", 0x08), "t", None) if f.rule == rule]
    assert "AER Info not valid" in hit.message and hit.path.endswith("body.validation_bits")


def test_kernel_version_decides_sdei_support(tmp_path):
    """ghes_probe learnt SDEI notifications in v5.1: before, such a GHES is not registered."""
    raw = apeitool.build({"sources": [{"type": "GHES", "source_id": 1, "notify": {"type": "SDEI", "vector": 3},
                                       "error_status_address": {"address": 0x7F000000}}]}, "hest")
    path = tmp_path / "h.aml"
    path.write_bytes(raw)
    runner = CliRunner()
    rule = "LINUX.GHES.NOTIFY_UNSUPPORTED"
    old = runner.invoke(main, ["validate", str(path), "--target", "linux-arm64", "--kernel-version", "4.19", "-f", "json"])
    new = runner.invoke(main, ["validate", str(path), "--target", "linux-arm64", "-f", "json"])
    assert rule in old.output and rule not in new.output
