"""Linux versions, and the one table of what changed between them in what apeitool imitates.

`--kernel-version` (decode -f kernel, replay, validate, vm --compare) names a kernel; each renderer or
model asks `version.has("key")` instead of testing version numbers itself. A change is in a kernel when
the kernel is at or past the mainline release that first carried it, or is a stable release of a
series at or past the point release that got it as a backport.

The `seen` column says how each row was checked: "vm" rows were run on Debian's kernels under
`apeitool vm` (the vm tests keep checking them); the rest are read from the kernel source.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from .errors import InputError

Version = Tuple[int, int, int]

# the Debian builds the vm tests boot: a bare series ("6.1") means this release of it
DEBIAN = {"5.10": (5, 10, 223), "6.1": (6, 1, 176), "6.12": (6, 12, 117), "7.2": (7, 2, 13)}
LATEST = "7.2"
NAMES = ("latest", *DEBIAN)


@dataclass(frozen=True)
class Change:
    key: str
    subject: str                  # the kernel commit's subject ("" where it is not identified)
    first: Version                # first mainline release carrying it
    effect: str                   # what a user sees, one line
    stable: Dict[str, Version] = field(default_factory=dict)   # series -> first stable release with it
    seen: str = "source"


CHANGES = [
    Change("mem_error_status_text", "efi/cper: add cper_mem_err_status_str to decode error description",
           (5, 18, 0), "memory error_status decoded (\" error_status: Storage error in DRAM memory (0x...)\"); "
           "before: \"error_status: 0x...\" at the section's indent", seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("mem_location_compact", "efi/cper: reformat CPER memory error location to more readable",
           (5, 18, 0), "memory location \"node:1 card:2 ...\"; before: \"node: 1 card: 2 ...\"",
           seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("mem_location_ids", "EDAC/ghes: use cper functions to avoid code duplication",
           (5, 18, 0), "target_id and chip_id end the location line; before, their text was written "
           "past the returned length and cut off", seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("aer_all_severities", "efi/cper: Print correctable AER information", (6, 16, 0),
           "a PCIe section's AER registers print for every severity, with aer_cor_status/aer_cor_mask; "
           "before: only when the section severity has bit 0 set (fatal or info), without the cor line",
           stable={"6.12": (6, 12, 117)}, seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("cxl_protocol_printer", "efi/cper, cxl: Decode CXL Protocol Error Section", (6, 3, 0),
           "CXL protocol error sections decoded; before: \"section type: unknown\" and a hex dump",
           seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("cxl_event_names", "cxl/cper: Fix errant CPER prints for CXL events", (6, 8, 0),
           "CXL general media / DRAM / memory module events print their name only; before: "
           "\"section type: unknown\" and a hex dump", seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("ia32_ctx_align", "efi/cper: Fix cper_ia_proc_ctx alignment", (6, 14, 0),
           "IA32/X64 context structures are walked at 16-byte aligned sizes; before: back to back, so "
           "padding reads as the next context", seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("arm_ctx_align", "efi/cper: Fix cper_arm_ctx_info alignment", (6, 14, 0),
           "ARM context structures are walked (and counted against the length) at 16-byte aligned sizes; "
           "before: back to back", seen="vm: 6.12 (arm64)"),
    Change("arm_type_bitmask", "efi/cper: align ARM CPER type with UEFI 2.9A/2.10 specs", (6, 18, 0),
           "ARM error-info type printed as a bit mask (\"error_type: 0x02: cache error\", one operation and "
           "level line per kind set); before: an enumeration (\"error_type: 0, cache error\"); ghes.c's "
           "\"Unhandled processor error type\" warning and its cache-error test follow it",
           stable={"6.1": (6, 1, 176), "6.12": (6, 12, 117)}, seen="vm: 6.12 (arm64); 6.1 from its stable review"),
    Change("ghes_panic_message", "", (6, 13, 0),
           "a fatal record panics with \"GHES: Fatal hardware error\"; before: \"Fatal hardware error!\"",
           stable={"6.1": (6, 1, 176), "6.12": (6, 12, 117)}, seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("cxl_cper_length_check", "acpi/ghes: Process CXL Component Events", (6, 9, 0),
           "ghes_do_proc checks CXL component event sections and warns \"[Firmware Warn]: CXL CPER Invalid "
           "section length\" / \"invalid event\"; they go to the CXL driver, no longer to the "
           "non_standard_event trace", seen="vm: 5.10, 6.1, 6.12, 7.2 (console and ras trace)"),
    Change("arm_event_info", "RAS: Report ARM processor information to userspace", (6, 10, 0),
           "the arm_event trace carries the CPU, the severity and the error-info, context and vendor bytes "
           "(an event bigger than a trace buffer page is dropped); before: affinity, MPIDR, MIDR, states",
           seen="vm: ras trace on 6.1 (before) and 6.12, 7.2 (after); the release is approximate"),
    Change("aer_trace_tlp_header", "", (6, 15, 0),
           "an uncorrected AER error from firmware whose status has a TLP-logging bit (poisoned TLP, ECRC, "
           "unsupported request, completer abort, unexpected completion, malformed TLP, ACS violation, MC "
           "blocked TLP, AtomicOp egress blocked, TLP prefix blocked) carries its 14-dword TLP header log in "
           "the aer_event trace, and rasdaemon stores the first 4; before: \"TLP Header=Not available\"",
           seen="vm: ras trace and rasdaemon on 6.12 (before) and 7.2 (after, bits 12, 21, 23, 25 checked); "
                "the release is approximate"),
    Change("cxl_protocol_handoff", "acpi/ghes, cxl/pci: Process CXL CPER Protocol Errors", (6, 15, 0),
           "CXL protocol error sections go to the CXL driver; before: the non_standard_event trace",
           seen="vm: ras trace on 6.12 (non-standard) and 7.2 (handed off); the release is from the source"),
]
# what ghes.c does (replay's model), as opposed to what the printers print
CHANGES += [
    Change("estatus_queue", "ACPI / APEI: Generalise the estatus queue's notify code", (5, 1, 0),
           "SEA and SDEI records go through the estatus queue like NMI ones, the pool is sized once from the "
           "GHES count, GHESv2 is acked when the block is cleared; before: NMI-only queue, SEA handled in "
           "place, pool grown per NMI source", seen="source"),
    Change("sea_claim_user_only", "arm64: acpi: Make apei_claim_sea() synchronise with APEI's irq work",
           (5, 8, 0), "do_sea tries apei_claim_sea only for aborts from user mode and returns when it claims "
           "one; a SEA in kernel context is not claimed and the kernel dies; before: the claim result was "
           "ignored (records processed, then the fault table's signal, or die in kernel context)",
           seen="source (reference sheet; the release is approximate)"),
    Change("cache_xchg", "apei/ghes: Use xchg_release() for updating new cache slot instead of cmpxchg()",
           (6, 1, 0), "an estatus-cache entry that finds no slot to replace (every period 0) is neither stored "
           "nor freed: its pool bytes and its count leak; before (cmpxchg): it was freed at once",
           seen="source (the release is approximate)"),
    Change("mf_any_pfn", "mm: Change ghes code to allow poison of non-struct pfn", (7, 0, 0),
           "ghes_do_memory_failure hands any PFN to memory_failure(); before: a PFN that is not pfn_valid() "
           "is refused with \"[Firmware Warn]: GHES: Invalid address in generic error data\" (the release "
           "is approximate: 6.12.117 still refuses, 7.2.13 does not)", seen="vm: 5.10, 6.1, 6.12, 7.2"),
    Change("mf_kick", "ACPI: APEI: Kick the memory_failure() queue for synchronous errors", (5, 8, 0),
           "a synchronous (SEA) memory error's memory_failure() runs from a task_work before the task returns "
           "to user space (still with flags 0: BUS_MCEERR_AO); before: whenever the queue's work runs",
           seen="source"),
    Change("sync_task_work", "ACPI: APEI: handle synchronous exceptions in task work to send correct SIGBUS si_code",
           (6, 9, 0), "synchronous memory errors call memory_failure(pfn, MF_ACTION_REQUIRED) from task_work "
           "(BUS_MCEERR_AR, \"Sending SIGBUS ... due to hardware memory corruption\"); the kick is gone",
           seen="source"),
    Change("sync_sigbus", "ACPI: APEI: send SIGBUS to current task if synchronous memory error not recovered",
           (6, 9, 0), "a synchronous error that queued nothing prints \"synchronous unrecoverable error (SIGBUS)\" "
           "and signals the task", seen="source"),
]
_BY_KEY = {c.key: c for c in CHANGES}


class KernelVersion:
    """A kernel release: "latest", a series the project knows ("6.1": Debian's build of it), or
    any "X.Y[.Z]" (a bare unknown series is its mainline release, no stable backports)."""

    def __init__(self, text: Optional[str] = None):
        text = (text or "latest").strip()
        self.text = text
        word = text.lower().lstrip("v")
        if word == "latest":
            word = LATEST
        m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:[-+~].*)?", word)
        if not m:
            raise InputError(f"not a kernel version: {text!r} (latest, {', '.join(DEBIAN)} or X.Y.Z)",
                             field="--kernel-version")
        series = f"{int(m.group(1))}.{int(m.group(2))}"
        if m.group(3) is not None:
            self.release: Version = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        else:
            self.release = DEBIAN.get(series, (int(m.group(1)), int(m.group(2)), 0))
        self.series = series

    def has(self, key: str) -> bool:
        change = _BY_KEY[key]
        if self.release >= change.first:
            return True
        backport = change.stable.get(self.series)
        return backport is not None and self.release >= backport

    def __repr__(self) -> str:
        return "KernelVersion(%s)" % ".".join(map(str, self.release))

    def __str__(self) -> str:
        return ".".join(map(str, self.release))


def kernel_version(value) -> KernelVersion:
    """A KernelVersion from None (latest), a string, or one already made."""
    return value if isinstance(value, KernelVersion) else KernelVersion(value)


def man_section() -> str:
    """The KERNEL VERSIONS section of apeitool-decode(1), made from CHANGES (a test keeps the man
    page equal to it: after editing the table, paste `python3 -m apeitool.kernel_versions`)."""
    def release(v: Version) -> str:
        return "%d.%d" % v[:2] if v[2] == 0 else "%d.%d.%d" % v
    out = [".SH KERNEL VERSIONS", ".B \\-\\-kernel\\-version", "names the Linux release whose lines",
           ".B \\-f kernel", "(and", '.BR "apeitool replay" )', "print.", ".B latest", f"is {LATEST};",
           ", ".join(f"{k} ({release(r)})" for k, r in DEBIAN.items()) + " are the Debian builds",
           ".B apeitool vm",
           "boots; any X.Y[.Z] works too (a bare series the project does not know is its mainline release).",
           "A change is in a kernel from the mainline release that merged it, or from the stable release of a",
           "series that took it as a backport (the first one known to carry it). The changes, each with the",
           "kernel commit's subject, its first release and how it was checked (vm: on the real kernels):"]
    for c in CHANGES:
        stable = "".join(f"; stable {k} from {release(r)}" for k, r in c.stable.items())
        subject = f'"{c.subject}"' if c.subject else "commit not identified"
        out += [".TP", f".B {c.key}", f"{subject}, {release(c.first)}{stable} ({c.seen}).",
                c.effect.replace("\\", "\\\\")]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(man_section(), end="")
