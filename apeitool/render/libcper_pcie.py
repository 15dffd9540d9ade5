"""libcper's JSON for the PCI Express error section (UEFI 2.10 N.2.7): the section fields, and its
field-by-field reading of the 60-byte PCIe capability structure and the 96-byte AER capture.

The register tables below follow the PCI Express Base Specification 6.0 (7.5.3 PCI Express
Capability Structure, 7.8.4 Advanced Error Reporting Extended Capability). libcper reports only
some fields of each register, under its own names and with its own value styles; the tables list
exactly those, in libcper's order. Where libcper contradicts the PCIe spec we follow the spec (SPEC).
"""
from __future__ import annotations

import base64

from ..pci_classes import class_name
from ..schemas.values import parse_int

PORT_TYPES = {0: "PCI Express End Point", 1: "Legacy PCI End Point Device", 4: "Root Port",
              5: "Upstream Switch Port", 6: "Downstream Switch Port",
              7: "PCI Express to PCI/PCI-X Bridge", 8: "PCI/PCI-X Bridge to PCI Express Bridge",
              9: "Root Complex Integrated Endpoint Device", 10: "Root Complex Event Collector"}

# SPEC: the Device/Port Type field (PCIe 6.0 7.5.3.2) by its value. libcper indexes a 9-name list by
# the raw value, so 2 reads "ROOT_PORT" and 4 "DOWNSTREAM"; we name the type the register holds.
DEVICE_PORT_TYPES = {0: "PCIE", 1: "PCI", 4: "ROOT_PORT", 5: "UPSTREAM", 6: "DOWNSTREAM",
                     7: "PCIE_PCI_BRIDGE", 8: "PCI_PCIE_BRIDGE", 9: "RCiEP", 10: "RCEC"}

# value styles: int, bool, raw ({"raw": n}), port ({"raw", "value"}), and two-word enums (0 / non-zero)
WORDS = {"sup": ("NotSupported", "Supported"), "en": ("Disabled", "Enabled"),
         "pass": ("Failed", "Passing"), "sev": ("NonFatal", "Fatal")}

# (json name, byte offset, register bytes, [(field, low bit, width, style)])
CAPABILITY_V1 = [
    ("pcie_capability_header", 0x00, 2, [
        ("capability_id", 0, 8, "raw"), ("next_capability_pointer", 8, 8, "int")]),
    ("pcie_capabilities", 0x02, 2, [
        ("capability_version", 0, 4, "int"), ("device_port_type", 4, 4, "port"),
        ("slot_implemented", 8, 1, "bool"), ("interrupt_message_number", 9, 5, "int"),
        ("flit_mode_supported", 15, 1, "sup")]),
    ("device_capabilities", 0x04, 4, [
        ("max_payload_size_supported", 0, 3, "int"), ("phantom_functions_supported", 3, 2, "sup"),
        ("extended_tag_field_supported", 5, 1, "sup"), ("endpoint_l0s_acceptable_latency", 6, 3, "raw"),
        ("endpoint_l1_acceptable_latency", 9, 3, "raw"), ("role_based_error_reporting", 15, 1, "bool"),
        ("err_cor_subclass_capable", 16, 1, "bool"), ("rx_mps_fixed", 17, 1, "int"),
        ("captured_slot_power_limit_value", 18, 8, "int"),
        ("captured_slot_power_limit_scale", 26, 2, "int"),
        ("function_level_reset_capability_supported", 28, 1, "sup"),
        ("mixed_mps_supported", 29, 1, "sup"), ("tee_io_supported", 30, 1, "sup")]),
    ("device_control", 0x08, 2, [
        ("correctable_error_reporting_enable", 0, 1, "en"), ("non_fatal_error_reporting_enable", 1, 1, "en"),
        ("fatal_error_reporting_enable", 2, 1, "en"), ("unsupported_request_reporting_enabled", 3, 1, "en"),
        ("relaxed_ordering_enable", 4, 1, "en"), ("max_payload_size", 5, 3, "int"),
        ("extended_tag_field_enable", 8, 1, "en"), ("phantom_functions_enable", 9, 1, "en"),
        ("aux_power_pm_enable", 10, 1, "en"), ("enable_no_snoop", 11, 1, "int"),
        ("max_read_request_size", 12, 3, "int"), ("function_level_reset", 15, 1, "bool")]),
    ("device_status", 0x0A, 2, [
        ("correctable_error_detected", 0, 1, "bool"), ("non_fatal_error_detected", 1, 1, "bool"),
        ("fatal_error_detected", 2, 1, "bool"), ("unsupported_request_detected", 3, 1, "bool"),
        ("aux_power_detected", 4, 1, "bool"), ("transactions_pending", 5, 1, "bool"),
        ("emergency_power_reduction", 6, 2, "int")]),
    ("link_capabilities", 0x0C, 4, [
        ("max_link_speed", 0, 4, "int"), ("maximum_link_width", 4, 6, "int"), ("aspm_support", 10, 2, "int"),
        ("l0s_exit_latency", 12, 3, "int"), ("l1_exit_latency", 15, 3, "int"),
        ("clock_power_management", 18, 1, "bool"), ("surprise_down_error_reporting_capable", 19, 1, "bool"),
        ("data_link_layer_link_active_reporting_capable", 20, 1, "bool"),
        ("link_bandwidth_notification_capability", 21, 1, "bool"),
        ("aspm_optionality_compliance", 22, 1, "bool"), ("port_number", 24, 8, "int")]),
    ("link_control", 0x10, 2, [
        ("aspm_control", 0, 2, "int"), ("ptm_prop_delay_adaptation_interpretation", 2, 1, "bool"),
        ("link_disable", 4, 1, "int"), ("retrain_link", 5, 1, "int"), ("extended_synch", 7, 1, "int"),
        ("sris_clocking", 12, 1, "int"), ("flit_mode_disable", 13, 1, "int")]),
    ("link_status", 0x12, 2, [
        ("current_link_speed", 0, 4, "int"), ("negotiated_link_width", 4, 6, "int"),
        ("link_training", 11, 1, "int")]),
    ("slot_capabilities", 0x14, 4, [
        ("slot_power_limit_value", 7, 8, "raw"), ("slot_power_limit_scale", 15, 2, "int"),
        ("physical_slot_number", 19, 13, "int")]),
    ("slot_control", 0x18, 2, [
        ("attention_indicator_control", 6, 2, "int"), ("power_indicator_control", 8, 2, "int"),
        ("rsvdp", 15, 1, "int")]),
    ("slot_status", 0x1A, 2, [
        ("mrl_sensor_changed", 2, 1, "int"), ("command_completed", 4, 1, "int"),
        ("mrl_sensor_state", 5, 1, "int")]),
    ("root_status", 0x20, 4, [
        ("pme_requester_id", 0, 16, "int"), ("pme_status", 16, 1, "int"), ("pme_pending", 17, 1, "int")]),
]
LINK_CONTROL2 = [
    ("target_link_speed", 0, 4, "raw"), ("enter_compliance", 4, 1, "sup"),
    ("hardware_autonomous_speed_disable", 5, 1, "raw"), ("selectable_de_emphasis", 6, 1, "bool"),
    ("transmit_margin", 7, 3, "int"), ("enter_modified_compliance", 10, 1, "bool"),
    ("compliance_sos", 11, 1, "bool"), ("compliance_preset_de_emphasis", 12, 4, "int")]
LINK_STATUS2 = [
    ("current_de_emphasis_level", 0, 1, "int"), ("equalization_8gts_complete", 1, 1, "bool"),
    ("equalization_8gts_phase1_successful", 2, 1, "bool"), ("equalization_8gts_phase2_successful", 3, 1, "bool"),
    ("equalization_8gts_phase3_successful", 4, 1, "bool"), ("link_equalization_request_8gts", 5, 1, "bool"),
    ("retimer_presence_detected", 6, 1, "bool"), ("two_retimers_presence_detected", 7, 1, "bool"),
    ("crosslink_resolution", 8, 2, "int"), ("flit_mode_status", 10, 1, "int"),
    ("downstream_component_presence", 12, 3, "int"), ("drs_message_received", 15, 1, "bool")]
# the "2" registers exist from capability version 2 (a version 1 structure ends at 0x24)
CAPABILITY_V2 = [
    ("device_capabilities2", 0x24, 4, [
        ("completion_timeout_ranges_supported", 0, 4, "int"),
        ("completion_timeout_disable_supported", 4, 1, "sup"), ("ari_forwarding_supported", 5, 1, "sup"),
        ("atomic_op_routing_supported", 6, 1, "sup"), ("_32_bit_atomicop_completer_supported", 7, 1, "sup"),
        ("_64_bit_atomicop_completer_supported", 8, 1, "sup"),
        ("_128_bit_cas_completer_supported", 9, 1, "sup"), ("no_ro_enabled_pr_pr_passing", 10, 1, "pass"),
        ("ltr_mechanism_supported", 11, 1, "sup"), ("tph_completer_supported", 12, 2, "sup"),
        ("obff_supported", 18, 2, "sup"), ("max_end_end_tlp_prefixes", 22, 2, "raw"),
        ("emergency_power_reduction_supported", 24, 2, "sup"), ("dmwr_lengths_supported", 29, 2, "int")]),
    ("device_control2", 0x28, 2, [
        ("completion_timeout_value", 0, 4, "int"), ("ari_forwarding_enable", 5, 1, "bool"),
        ("atomicop_requester_enable", 6, 1, "bool"), ("atomicop_egress_blocking", 7, 1, "bool"),
        ("ido_request_enable", 8, 1, "bool"), ("ido_completion_enable", 9, 1, "bool"),
        ("ltr_mechanism_enable", 10, 1, "bool"), ("emergency_power_reduction_request", 11, 1, "bool"),
        ("bit_tag_requester_10_enable", 12, 1, "bool"), ("obff_enable", 13, 2, "int")]),
    ("link_capabilities2", 0x2C, 4, [
        ("supported_link_speeds", 1, 7, "int"), ("crosslink_supported", 8, 1, "sup"),
        ("lower_skp_os_generation_supported", 9, 7, "int"), ("lower_skp_os_reception_supported", 16, 7, "int"),
        ("retimer_presence_detect_supported", 23, 1, "sup"),
        ("two_retimers_presence_detect_supported", 24, 1, "sup"), ("drs_supported", 31, 1, "sup")]),
    ("link_control2", 0x30, 2, LINK_CONTROL2),
    ("link_status2", 0x32, 2, LINK_STATUS2),
]

# AER uncorrectable error bits (PCIe 6.0 7.8.4.2-4): (bit, stem); the status register's name for bit
# 12 has no "_status" suffix in libcper
UNCORRECTABLE = [(4, "data_link_protocol_error"), (5, "surprise_down_error"), (12, "poisoned_tlp_received"),
                 (13, "flow_control_protocol_error"), (14, "completion_timeout"), (15, "completer_abort"),
                 (16, "unexpected_completion"), (17, "receiver_overflow"), (18, "malformed_tlp"),
                 (19, "ecrc_error"), (20, "unsupported_request_error"), (21, "acs_violation"),
                 (22, "uncorrectable_internal_error"), (23, "mc_blocked_tlp"),
                 (24, "atomicop_egress_blocked"), (25, "tlp_prefix_blocked_error"),
                 (26, "poisoned_tlp_egress_blocked"), (27, "dmwr_request_egress_blocked"),
                 (28, "ide_check_failed"), (29, "misrouted_ide_tlp"), (30, "pcrc_check_failed"),
                 (31, "tlp_translation_egress_blocked")]
# AER correctable error bits (7.8.4.5-6)
CORRECTABLE = [(0, "receiver_error"), (6, "bad_tlp"), (7, "bad_dllp"), (8, "replay_num_rollover"),
               (12, "replay_timer_timeout"), (13, "advisory_non_fatal_error"),
               (14, "corrected_internal_error"), (15, "header_log_overflow")]


def _bits(stems, suffix, style, bare=()):
    return [(stem if stem in bare else f"{stem}_{suffix}", bit, 1, style) for bit, stem in stems]


AER = [
    ("capability_header", 0x00, 4, [
        ("capability_id", 0, 16, "int"), ("capability_version", 16, 4, "int"),
        ("next_capability_offset", 20, 12, "int")]),
    ("uncorrectable_error_status", 0x04, 4,
     _bits(UNCORRECTABLE, "status", "bool", bare=("poisoned_tlp_received",))),
    ("uncorrectable_error_mask", 0x08, 4, _bits(UNCORRECTABLE, "mask", "int")),
    ("uncorrectable_error_severity", 0x0C, 4, _bits(UNCORRECTABLE, "severity", "sev")),
    ("correctable_error_status", 0x10, 4, _bits(CORRECTABLE, "status", "bool")),
    ("correctable_error_mask", 0x14, 4, _bits(CORRECTABLE, "mask", "int")),
    ("advanced_error_capabilities_and_control", 0x18, 4, [
        ("first_error_pointer", 0, 5, "int"), ("header_log_size", 13, 5, "int"),
        ("logged_tlp_size", 19, 5, "int")]),
    ("root_error_status", 0x30, 4, [
        ("err_cor_subclass", 7, 2, "int"), ("advanced_error_interrupt_message_number", 27, 5, "int")]),
    ("error_source_id", 0x34, 4, [
        ("err_cor_source_identification", 0, 16, "int"),
        ("err_fatal_nonfatal_source_identification", 16, 16, "int")]),
]


# What libcper reads instead, where its C bitfield structs do not match the registers (section(...,
# libcper_bugs=True) reproduces libcper's output exactly; the tests use it to show these are the
# only differences):
# - Device/Port Type names taken by list position;
# - Link Capabilities 2 declared as a 1-bit field, then a 4-byte union, then the rest: its fields land
#   on bits 8-14, 40-63, and Link Control 2 / Link Status 2 are read at 0x34 / 0x36 (PCIe 6.0 7.5.3.18-20);
# - Root Error Status' reserved gap declared 16 bits wide, not 18: the interrupt message number is
#   read from bits 29:25, not 31:27 (7.8.4.10).
LIBCPER_PORT_NAMES = dict(enumerate(["PCIE", "PCI", "ROOT_PORT", "UPSTREAM", "DOWNSTREAM",
                                     "PCIE_PCI_BRIDGE", "PCI_PCIE_BRIDGE", "RCiEP", "RCEC"]))
LIBCPER_LAYOUT = {
    "link_capabilities2": ("link_capabilities2", 0x2C, 8, [
        ("supported_link_speeds", 8, 7, "int"), ("crosslink_supported", 40, 1, "sup"),
        ("lower_skp_os_generation_supported", 41, 7, "int"), ("lower_skp_os_reception_supported", 48, 7, "int"),
        ("retimer_presence_detect_supported", 55, 1, "sup"),
        ("two_retimers_presence_detect_supported", 56, 1, "sup"), ("drs_supported", 63, 1, "sup")]),
    "link_control2": ("link_control2", 0x34, 2, LINK_CONTROL2),
    "link_status2": ("link_status2", 0x36, 2, LINK_STATUS2),
    "root_error_status": ("root_error_status", 0x30, 4, [
        ("err_cor_subclass", 7, 2, "int"), ("advanced_error_interrupt_message_number", 25, 5, "int")]),
}


def _field(value: int, style: str, libcper_bugs=False):
    if style == "int":
        return value
    if style == "bool":
        return bool(value)
    if style == "raw":
        return {"raw": value}
    if style == "port":
        out = {"raw": value}
        names = LIBCPER_PORT_NAMES if libcper_bugs else DEVICE_PORT_TYPES
        if value in names:
            out["value"] = names[value]
        return out
    return WORDS[style][1 if value else 0]


def registers(raw: bytes, table, libcper_bugs=False) -> dict:
    """{group: {field: value}} for each register of `table` read from `raw`."""
    out = {}
    for entry in table:
        group, offset, size, fields = LIBCPER_LAYOUT.get(entry[0], entry) if libcper_bugs else entry
        reg = int.from_bytes(raw[offset:offset + size], "little")
        out[group] = {name: _field(reg >> lo & ((1 << width) - 1), style, libcper_bugs)
                      for name, lo, width, style in fields}
    return out


def capability(raw: bytes, libcper_bugs=False) -> dict:
    out = {"data": base64.b64encode(raw).decode()}
    out.update(registers(raw, CAPABILITY_V1, libcper_bugs))
    if raw[2] & 0xF >= 2:
        out.update(registers(raw, CAPABILITY_V2, libcper_bugs))
    return out


def aer(raw: bytes, libcper_bugs=False) -> dict:
    out = {"data": base64.b64encode(raw).decode()}
    out.update(registers(raw, AER, libcper_bugs))
    return out


def _bcd(v: int) -> int:
    return (v >> 4) * 10 + (v & 0xF)


def _valid(b, bit) -> bool:
    return bool(parse_int(b.get("validation_bits", 0)) >> bit & 1)


def section(b: dict, libcper_bugs=False):
    """(message, libcper "Pcie" object) for a decoded PCIe body; `libcper_bugs` reads the capability
    and AER registers where libcper reads them (see LIBCPER_LAYOUT) instead of where the spec puts them."""
    out = {}
    if _valid(b, 0):
        out["portType"] = {"value": b["port_type"], "name": PORT_TYPES.get(b["port_type"], "Unknown")}
    if _valid(b, 1):
        out["version"] = {"minor": _bcd(b["version"]["minor"]), "major": _bcd(b["version"]["major"])}
    if _valid(b, 2):
        out["commandStatus"] = {"commandRegister": b["command"], "statusRegister": b["status"]}
    if _valid(b, 3):
        out["deviceID"] = device_id(b["device_id"])
    if _valid(b, 4):
        out["deviceSerialNumber"] = b["serial_number"]
    if _valid(b, 5):
        out["bridgeControlStatus"] = {"secondaryStatusRegister": b["bridge"]["secondary_status"],
                                      "controlRegister": b["bridge"]["control"]}
    if _valid(b, 6):
        out["capabilityStructure"] = capability(bytes.fromhex(b["capability"]), libcper_bugs)
    if _valid(b, 7):
        out["aerInfo"] = aer(bytes.fromhex(b["aer_info"]), libcper_bugs)
    return "A PCIe Error occurred", out


def device_id(d: dict) -> dict:
    cc = d["class_code"]
    slot = d["slot"] >> 3                     # slot number: bits 15:3 of the slot field
    out = {}
    name = class_name(cc >> 16, cc >> 8 & 0xFF, cc & 0xFF)
    if name is not None:
        out["class"] = name
    # libcper prints the segment and slot numbers' hex forms through an 8-bit helper: low byte only
    out.update({"deviceID_Hex": f"0x{d['device_id']:04X}", "vendorID_Hex": f"0x{d['vendor_id']:04X}",
                "classCode_Hex": f"0x{cc:06X}", "functionNumber_Hex": f"0x{d['function']:02X}",
                "deviceNumber_Hex": f"0x{d['device']:02X}", "segmentNumber_Hex": f"0x{d['segment'] & 0xFF:02X}",
                "primaryOrDeviceBusNumber_Hex": f"0x{d['primary_bus']:02X}",
                "secondaryBusNumber_Hex": f"0x{d['secondary_bus']:02X}",
                "slotNumber_Hex": f"0x{slot & 0xFF:02X}",
                "deviceID": d["device_id"], "vendorID": d["vendor_id"], "classCode": cc,
                "functionNumber": d["function"], "deviceNumber": d["device"], "segmentNumber": d["segment"],
                "primaryOrDeviceBusNumber": d["primary_bus"], "secondaryBusNumber": d["secondary_bus"],
                "slotNumber": slot})
    return out


def register_view(name: str, raw: bytes):
    """({group: {field: value}}, {group: byte offset}, covered) of a PCIe section's "capability" or
    "aer_info" bytes read where the spec puts the registers (covered: an int with a 1 for each bit
    of `raw` some field reads, bit 0 = byte 0 bit 0), or None for other names."""
    if name == "capability":
        view = capability(raw)
        tables = CAPABILITY_V1 + (CAPABILITY_V2 if raw[2] & 0xF >= 2 else [])
    elif name == "aer_info":
        view, tables = aer(raw), AER
    else:
        return None
    view.pop("data")
    covered = 0
    for _group, offset, _size, fields in tables:
        for _name, lo, width, _style in fields:
            covered |= ((1 << width) - 1) << (8 * offset + lo)
    return view, {group: offset for group, offset, _size, _fields in tables}, covered
