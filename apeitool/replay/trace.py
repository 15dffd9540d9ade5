"""The kernel's RAS tracepoints as /sys/kernel/tracing/trace prints them (include/ras/ras_event.h):
what ghes.c hands rasdaemon, in the kernel's own words. replay's model produces these lines; `vm`
reads the real ones from the guest and compares (checked on Debian's 5.10, 6.1, 6.12 and 7.2)."""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from ..render.kernel import s32

# ras_event.h: aer_correctable_errors / aer_uncorrectable_errors (__print_flags with "|")
AER_COR = {0: "Receiver Error", 6: "Bad TLP", 7: "Bad DLLP", 8: "RELAY_NUM Rollover", 12: "Replay Timer Timeout",
           13: "Advisory Non-Fatal Error", 14: "Corrected Internal Error", 15: "Header Log Overflow"}
AER_UNCOR = {0: "Undefined", 4: "Data Link Protocol Error", 5: "Surprise Down Error", 12: "Poisoned TLP",
             13: "Flow Control Protocol Error", 14: "Completion Timeout", 15: "Completer Abort",
             16: "Unexpected Completion", 17: "Receiver Overflow", 18: "Malformed TLP", 19: "ECRC Error",
             20: "Unsupported Request Error", 21: "ACS Violation", 22: "Uncorrectable Internal Error",
             23: "MC Blocked TLP", 24: "AtomicOp Egress Blocked", 25: "TLP Prefix Blocked Error"}
AER_SEVERITY = {"AER_CORRECTABLE": "Corrected", "AER_NONFATAL": "Uncorrected, non-fatal", "AER_FATAL": "Fatal"}
EVENTS = ("mc_event", "aer_event", "arm_event", "non_standard_event", "mce_record")


def print_flags(value: int, names: Dict[int, str]) -> str:
    """ftrace's __print_flags: the names of the set bits, then what is left as hex, joined by '|'."""
    out = [n for bit, n in sorted(names.items()) if value >> bit & 1]
    rest = value & ~sum(1 << bit for bit in names)
    if rest:
        out.append(f"0x{rest:x}")
    return "|".join(out)


def uuid_bytes_text(raw: bytes) -> str:
    """%pU (byte order, as non_standard_event prints its GUIDs)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def aer_event(dev_name: str, severity: str, status: int, tlp=None) -> str:
    names = AER_COR if severity == "AER_CORRECTABLE" else AER_UNCOR
    header = "{" + ",".join(f"0x{d:x}" for d in tlp) + "}" if tlp else "Not available"
    return (f"{dev_name} PCIe Bus Error: severity={AER_SEVERITY[severity]}, {print_flags(status, names)}, "
            f"TLP Header={header}")


TRACE_PAGE_DATA = 4072     # the most data one ring-buffer event holds (a 4 KiB page less its headers)


def arm_lengths(body: dict, payload: bytes) -> Tuple[int, int, int]:
    """log_arm_hw_error's (error info, context, vendor) lengths: the contexts are walked by the sizes
    they declare; the vendor length is what the section length leaves (may be negative)."""
    n = body.get("error_info_num", 0)
    at = 40 + 32 * n
    for _ in range(body.get("context_info_num", 0)):
        size = int.from_bytes(payload[at + 4:at + 8], "little") if at + 8 <= len(payload) else 0
        at += 8 + size
    return 32 * n, at - 40 - 32 * n, s32(body.get("section_length", 0) - at)      # an s32 in the kernel


def arm_event(body: dict, payload: bytes = b"", ghes_severity: int = 0, kv=None) -> Optional[str]:
    """The arm_event line, or None when the kernel drops the event (bigger than a buffer page)."""
    vb = body.get("validation_bits", 0) if isinstance(body.get("validation_bits"), int) else 0
    affinity = body.get("error_affinity_level", 0) if vb & 2 else 0xFF
    mpidr = body.get("mpidr", 0) if vb & 1 else 0
    running, psci = (body.get("running_state", 0), body.get("psci_state", 0)) if vb & 4 else (-1, -1)
    head = (f"affinity level: {affinity}; MPIDR: {mpidr:016x}; MIDR: {body.get('midr', 0):016x}; "
            f"running state: {s32(running)}; PSCI state: {s32(psci)}")
    if kv is None or not kv.has("arm_event_info"):
        return head
    pei_len, ctx_len, vsei_len = arm_lengths(body, payload)
    vsei_len = max(0, vsei_len)
    if 64 + pei_len + ctx_len + vsei_len > TRACE_PAGE_DATA:
        return None
    pei, ctx = payload[40:40 + pei_len], payload[40 + pei_len:40 + pei_len + ctx_len]
    at = 40 + pei_len + ctx_len
    ven = payload[at:at + vsei_len]
    return (f"cpu: -1; error: {ghes_severity}; {head}; ARM Processor Err Info data len: {len(pei)}; "
            f"ARM Processor Err Info raw data: {pei.hex()}; ARM Processor Err Context Info data len: "
            f"{ctx_len}; ARM Processor Err Context Info raw data: {ctx.hex()}; "
            f"Vendor Specific Err Info data len: {vsei_len}; Vendor Specific Err Info raw data: {ven.hex()}")


def non_standard_event(sec_type: bytes, fru_id: bytes, fru_text: str, severity: int, payload: bytes) -> str:
    return (f"severity: {severity}; sec type:{uuid_bytes_text(sec_type)}; FRU: {uuid_bytes_text(fru_id)} "
            f"{fru_text}; data len:{len(payload)}; raw data:{payload.hex()}")


class TraceLog:
    """A replay tracer keeping each event's trace text: [(event, text)]. mc_event comes from
    ghes_edac, when the machine has it."""

    def __init__(self, ghes_edac: bool = True, kv=None):
        self.lines: List[Tuple[str, str]] = []
        self.ghes_edac, self.kv = ghes_edac, kv

    def __call__(self, event: str, now: float, **f) -> None:
        text = self._text(event, f)
        if text is not None:
            self.lines.append((event, _hex_runs(text)))

    def _text(self, event: str, f: dict) -> Optional[str]:
        """The event's trace line, or None when the kernel traces nothing for it."""
        if event == "aer_event":
            return aer_event(f["dev_name"], f["severity"], f["status"], f.get("tlp"))
        if event == "arm_event":
            return arm_event(f["body"], f.get("payload", b""), f.get("ghes_severity", 0), self.kv)
        if event == "non_standard_event":
            return non_standard_event(f["sec_type"], f["fru_id"], f["fru_text"], f["ghes_severity"], f["payload"])
        if event == "mc_event" and self.ghes_edac:
            return f"(ghes_edac) {f['severity']} {f['location']}"
        return None


def tee(*tracers):
    """One tracer calling several."""
    def call(event: str, now: float, **f) -> None:
        for t in tracers:
            t(event, now, **f)
    return call


_LINE = re.compile(r"^\s*\S.*?\s+\d+\.\d+:\s+(\w+):\s?(.*)$")


def parse(lines: List[str]) -> List[Tuple[str, str]]:
    """(event, text) of the RAS events in a `trace` file's lines; raw data hex without spaces."""
    out = []
    for line in lines:
        m = _LINE.match(line)
        if not m or m.group(1) not in EVENTS:
            continue
        out.append((m.group(1), _hex_runs(m.group(2).rstrip())))
    return out


def _hex_runs(text: str) -> str:
    """Each 'raw data:' field's hex without the spaces __print_hex puts between (and, every 16 bytes,
    leaves out of) its bytes, so that kernel and model lines compare."""
    return re.sub(r"raw data: ?([0-9a-f ]*)", lambda m: "raw data:" + m.group(1).replace(" ", ""), text)


def same(real: str, model: str) -> bool:
    """Equal, or (a long payload) the trace cut the real line short of the model's."""
    if real == model:
        return True
    return "raw data:" in real and model.startswith(real) and len(real) > 200


def unmatched(real: list, model: list, match=lambda a, b: a == b) -> Tuple[list, list]:
    """(items only in `real`, items only in `model`): each real item takes the first model item it
    matches, so repeats count."""
    left, only_real = list(model), []
    for item in real:
        hit = next((i for i, m in enumerate(left) if match(item, m)), None)
        if hit is None:
            only_real.append(item)
        else:
            left.pop(hit)
    return only_real, left


def compare(real: List[Tuple[str, str]], model: List[Tuple[str, str]]) -> Tuple[List[dict], List[dict]]:
    """(differences, explained): events only the kernel traced or only the model did."""
    only_real, left = unmatched(real, model, lambda a, b: a[0] == b[0] and same(a[1], b[1]))
    differences, explained = [], []
    for ev, text in only_real:
        entry = {"only_in": "kernel", "event": ev, "text": text}
        if ev == "mce_record":
            explained.append(dict(entry, why="x86 also reports a memory error as a synthetic MCE "
                                             "(apei_mce_report_mem_error); rasdaemon decodes it per CPU model; "
                                             "not modelled"))
        else:
            differences.append(entry)
    differences += [{"only_in": "model", "event": ev, "text": text} for ev, text in left]
    return differences, explained
