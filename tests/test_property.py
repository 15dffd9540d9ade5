"""Property: random valid HEST specs survive build -> decode -> build byte for byte."""
from hypothesis import HealthCheck, given, settings, strategies as st

import apeitool
from apeitool.names import ACCESS_SIZE, GAS_SPACE, NOTIFY_TYPE

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 2**64 - 1)
enum8 = lambda names: st.one_of(st.sampled_from(sorted(names.values())), u8)

gas = st.fixed_dictionaries({}, optional={
    "space_id": enum8(GAS_SPACE), "bit_width": u8, "bit_offset": u8, "access_size": enum8(ACCESS_SIZE),
    "address": u64})
notify = st.fixed_dictionaries({"type": enum8(NOTIFY_TYPE)}, optional={
    "length": u8, "config_write_enable": u16, "poll_interval": u32, "vector": u32,
    "polling_threshold_value": u32, "polling_threshold_window": u32, "error_threshold_value": u32,
    "error_threshold_window": u32})
head = {"source_id": u16}
opt_head = {"reserved1": u16, "flags": u8, "enabled": u8, "records_to_preallocate": u32,
            "max_sections_per_record": u32}
bank = st.fixed_dictionaries({"bank_number": u8}, optional={
    "clear_status_on_init": u8, "status_format": u8, "reserved": u8, "control_register": u32,
    "control_data": u64, "status_register": u32, "address_register": u32, "misc_register": u32})
banks = st.lists(bank, max_size=4)
ghes = {"related_source_id": u16, "reserved1": u8, "enabled": u8, "records_to_preallocate": u32,
        "max_sections_per_record": u32, "max_raw_data_length": u32, "error_status_address": gas,
        "error_status_block_length": u32}
aer = {"bus": u32, "device": u16, "function": u16, "device_control": u16, "reserved2": u16,
       "uncorrectable_mask": u32, "uncorrectable_severity": u32, "correctable_mask": u32,
       "advanced_capabilities": u32}


def src(type_, required=None, **optional):
    return st.fixed_dictionaries({"type": st.just(type_), **head, **(required or {})}, optional=optional)


sources = st.one_of(
    src("IA32_MCE", {"banks": banks}, **opt_head, global_capability_data=u64, global_control_data=u64,
        reserved2=st.integers(0, 2**56 - 1)),
    src("IA32_CMC", {"banks": banks, "notify": notify}, **opt_head, reserved2=st.integers(0, 2**24 - 1)),
    src("IA32_DEFERRED_MCE", {"banks": banks, "notify": notify}, **opt_head),
    src("IA32_NMI", reserved1=u32, records_to_preallocate=u32, max_sections_per_record=u32,
        max_raw_data_length=u32),
    src("AER_ROOT_PORT", **opt_head, **aer, root_error_command=u32),
    src("AER_ENDPOINT", **opt_head, **aer),
    src("AER_BRIDGE", **opt_head, **aer, secondary_uncorrectable_mask=u32,
        secondary_uncorrectable_severity=u32, secondary_advanced_capabilities=u32),
    src("GHES", {"notify": notify}, **ghes),
    src("GHES_V2", {"notify": notify}, **ghes, read_ack_register=gas, read_ack_preserve=u64,
        read_ack_write=u64),
)
name = lambda n: st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=n)
header = st.fixed_dictionaries({}, optional={
    "revision": u8, "oem_id": name(6), "oem_table_id": name(8), "oem_revision": u32,
    "creator_id": name(4), "creator_revision": u32})
specs = st.fixed_dictionaries({"header": header, "sources": st.lists(sources, max_size=6)},
                              optional={"error_source_count": u32})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_build_decode_build(spec):
    raw = apeitool.build(spec, "hest")
    [t] = apeitool.decode_bytes(raw)
    assert apeitool.build(t.model) == raw
    assert len(t.model["sources"]) == len(spec["sources"])
    for given_src, got in zip(spec["sources"], t.model["sources"]):
        assert got["source_id"] == given_src["source_id"]
        assert len(got.get("banks", [])) == len(given_src.get("banks", []))
