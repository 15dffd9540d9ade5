"""apeitool vm: the same event stream as replay, through a real Linux kernel under QEMU.

    from apeitool.vm import run
    result = run(hest_model, events, kernel="6.1", compare=True)
    result["events"][3]["lines"], result["differences"]

The kernel's console is split at our marks into the boot (probe) lines and each event's lines,
normalised where a run is not deterministic, and (with compare) set beside what replay's model
prints for the same HEST and events, event by event.
"""
from __future__ import annotations

import os
import re
from typing import Dict, List, Optional

from .plan import Plan, add_events, complete, lay_out, relocate

__all__ = ["run", "relevant", "normalise", "KNOWN_DIFFERENCES"]

_PRINTK = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")
# the kernel lines about APEI, GHES, CPER and what follows from them
_RELEVANT = re.compile(r"HEST:|GHES:|APEI:|BERT:|ERST:|EINJ:|\[Hardware Error\]|Memory failure:|mce: |AER:|"
                       r"Kernel panic|Uhhuh\. NMI|Dazed and confused|\[Firmware (Bug|Warn)\]|soft_offline|"
                       r"pstore:|NMI received|NMI handler \(ghes_notify_nmi\)|"
                       # a kernel crash is always a difference: the model never crashes (not the RIP
                       # lines: a panic's own backtrace, which the model does expect, has them too)
                       r"^BUG: |^Oops: |^WARNING: ")
# lines dropped before comparing, and why
DROPPED = [
    (re.compile(r"NMI handler \(.*\) took too long to run"), "an emulation artefact: TCG runs the first NMI "
                                                           "handler slowly"),
    (re.compile(r"GHES: Failed to enable APEI firmware first mode"), "QEMU's tables do not advertise "
                                                                      "firmware-first mode (_OSC): harmless"),
]
# Lines the real kernel prints that replay's model does not produce (or the other way round): the
# one documented list of differences, each with the kernel series it applies to (None: all) and its
# reason. They are reported as explained, never hidden; anything else is a difference.
KNOWN_DIFFERENCES = [
    ("kernel", re.compile(r"^mce: \[Hardware Error\]"), None, "x86: ghes.c hands memory errors to the MCE "
     "log (apei_mce_report_mem_error), which prints its own lines; not modelled"),
    ("kernel", re.compile(r"^Memory failure: 0x[0-9a-f]+: (?!Sending SIGBUS)"),
     None, "memory_failure()'s own outcome (free buddy page, reserved kernel page, unhandlable page, "
     "memory outside kernel control, ...): the model stops at handing the PFN to memory_failure"),
    ("kernel", re.compile(r"^pci [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]: AER: "), None,
     "the device exists in the guest: aer_recover_work_func prints its AER registers (pci_print_aer); replay "
     "does not know which PCI devices a machine has, and stops at queueing the recovery"),
    ("kernel", re.compile(r"^AER: (no pci_dev for|AER recover: Can not find pci_dev for|[0-9a-f:.]+: no pci_dev "
                          r"found)"), None, "the guest has no such PCI device: AER recovery finds none (the "
     "wording is the PCI core's and changed twice)"),
    ("kernel", re.compile(r"^\[Firmware Warn\]: CXL CPER (Invalid section length|invalid event)"),
     {"6.12", "7.2"}, "ghes_do_proc checks CXL component event records before handing them to the CXL "
     "driver (\"acpi/ghes: Process CXL Component Events\", v6.9); replay does not model the CXL hand-off"),
]


def relevant(line: str) -> bool:
    return bool(_RELEVANT.search(line))


def normalise(text: str) -> str:
    """A kernel line without what differs run to run: the {N} record numbers, mce's TIME."""
    text = re.sub(r"^\{\d+\}", "{N}", text)
    text = re.sub(r"\bTIME \d+", "TIME *", text)
    # port 0x61's refresh bit toggles with time: the reason byte is not the same run to run
    text = re.sub(r"unknown reason [0-9a-f]{2} on CPU", "unknown reason * on CPU", text)
    return text.rstrip()


def split_console(lines: List[str]) -> Dict:
    """{"boot": [...], "events": {k: [...]}, "marks": [...]} from the console, kernel lines only,
    relevant ones, dropped ones taken out (and counted)."""
    from .guest import MARK
    out = {"boot": [], "events": {}, "dropped": []}
    current = out["boot"]
    for line in lines:
        m = _PRINTK.match(line)
        if not m:
            continue
        text = m.group(2)
        if text.startswith(MARK):
            word = text[len(MARK) + 1:].split()
            if word and word[0] == "EVENT":
                current = out["events"].setdefault(int(word[1]), [])
            continue
        if not relevant(text):
            continue
        why = next((w for rx, w in DROPPED if rx.search(text)), None)
        if why:
            out["dropped"].append({"line": text, "why": why})
            continue
        current.append(text)
    return out


def model_lines(hest: dict, events: list, kernel: str, arch: str, settle: float = 0.0,
                kernel_version=None, ram=None, ras: bool = False) -> Dict:
    """replay's log, split the same way: probe lines, then each event's lines including the polls
    that come due before the next event (in the guest they print while it waits), and after the
    last event the `settle` seconds the guest waits before it stops. With `ras`, also the rasdaemon
    rows and RAS trace lines the model writes ("rasdaemon", "trace")."""
    from ..replay import Simulation
    from ..replay.kernel import Panic
    sim = Simulation(hest, kernel, arch, keep=100000, kernel_version=kernel_version, ram=ram,
                     panic_timeout=-1)     # the guest boots with panic=-1
    tracer = trace = None
    if ras:
        from ..fleet.rasdaemon import Writer, has_ghes_edac
        from ..replay.trace import TraceLog, tee
        edac = has_ghes_edac(arch)
        tracer, trace = Writer(os.devnull, "0.6.8", ghes_edac=edac), TraceLog(ghes_edac=edac, kv=sim.kernel.kv)
        sim.rec.tracer = tee(tracer, trace)
    log = sim.rec.log.items

    def texts(start):
        return [_PRINTK.match(l).group(2) if _PRINTK.match(l) else l for l in log[start:]]
    out = {"boot": texts(0), "events": {}}
    try:
        for k, ev in enumerate(events):
            n = len(log)
            sim.handle(ev)
            if k + 1 < len(events):
                sim.advance(events[k + 1].at)
            else:
                sim.advance(ev.at + settle)
            out["events"][k] = texts(n)
        n = len(log)
        sim.finish()
        if events:
            out["events"][len(events) - 1] = out["events"].get(len(events) - 1, []) + texts(n)
    except Panic:
        out["events"][k] = texts(n)
    if ras:
        out["rasdaemon"], out["trace"] = tracer.events(), trace.lines
    return out


def compare(real: Dict, model: Dict, n_events: int, series: Optional[str] = None) -> Dict:
    """Per part (boot, each event): lines only the kernel printed, only the model printed; those
    matching KNOWN_DIFFERENCES are explained, the rest are differences."""
    import difflib
    differences, explained = [], []
    parts = [("boot", real["boot"], model["boot"])] + \
        [(k, real["events"].get(k, []), model["events"].get(k, [])) for k in range(n_events)]
    for where, a, b in parts:
        na, nb = [normalise(x) for x in a], [normalise(x) for x in b]
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, na, nb, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            for side, items in (("kernel", na[i1:i2]), ("model", nb[j1:j2])):
                for line in items:
                    why = next((w for s, rx, only, w in KNOWN_DIFFERENCES if s == side and rx.search(line)
                                and (only is None or series in only)), None)
                    entry = {"event": where, "only_in": side, "line": line}
                    if why:
                        explained.append(dict(entry, why=why))
                    else:
                        differences.append(entry)
    return {"differences": differences, "explained": explained}


def run(hest: dict, events: list, kernel: Optional[str] = None, arch: str = "x86_64",
        do_compare: bool = False, model_kernel: str = "v5.1", timeout: float = 180.0,
        console: Optional[str] = None, relocated: bool = False, hest_bytes: Optional[bytes] = None,
        rasdaemon_db: Optional[str] = None) -> Dict:
    """Boot a kernel with `hest` and deliver `events`; the result document. With `rasdaemon_db`, the
    host's rasdaemon records in the guest and its database is written there (with do_compare,
    compared with what replay's model writes)."""
    import apeitool
    from ..errors import InputError
    from .guest import boot
    from .kernels import find, is_kernel_image
    k = find(kernel, arch)
    if arch == "arm64":
        from . import arm64
        if not is_kernel_image(k.path, arch):
            raise InputError("not an arm64 kernel image", source=k.path)
        if rasdaemon_db:
            raise InputError("--rasdaemon-db runs the host's (x86_64) rasdaemon in the guest: x86_64 only")
        return arm64.run(relocate(hest) if relocated else hest, events, k, timeout, console)
    if not is_kernel_image(k.path, arch):
        raise InputError(f"not a {arch} kernel image (no bzImage header)", source=k.path)
    if relocated:
        hest = relocate(hest)
        hest_bytes = None
    hest = complete(hest)
    plan: Plan = lay_out(hest, arch)
    add_events(plan, events, arch)
    table = hest_bytes if hest_bytes is not None else apeitool.build(hest, "hest")
    # after the last event the guest waits for the polls due: ghes_add_timer rounds each poll to a
    # whole second (round_jiffies_relative), which the model leaves out
    settle = max([s.poll_ms for s in plan.sources.values() if s.notify == 0] + [0]) / 1000.0 + 1.5
    outcome = boot(plan, k.path, arch, table, timeout=timeout, console=console, settle=settle,
                   rasdaemon=bool(rasdaemon_db))
    real = split_console(outcome.lines)
    result = {
        "kernel": dict(k.as_dict(), booted=_booted_version(outcome.lines)),
        "status": outcome.status, "panicked": outcome.panicked, "seconds": round(outcome.seconds, 2),
        "window": {"start": plan.window[0], "end": plan.window[1]},
        "log": real["boot"] + [l for kk in sorted(real["events"]) for l in real["events"][kk]],
        "boot": real["boot"],
        "events": [{"event": kk, "lines": real["events"].get(kk, [])} for kk in range(len(events))],
        "undelivered": plan.undelivered, "dropped": real["dropped"],
        "acked": {sid: outcome.final.get(f"{s.ack_reg:#x}") for sid, s in plan.sources.items()
                  if s.ack_reg is not None},
        "block_status": {sid: outcome.final.get(f"{s.block:#x}") for sid, s in plan.sources.items()},
    }
    result["warnings"] = warnings_for(outcome.lines, real)
    if rasdaemon_db:
        result["rasdaemon"] = _rasdaemon_result(outcome, rasdaemon_db)
    if do_compare:
        kv = model_version(k, outcome.lines)
        model = model_lines(hest, events, model_kernel, arch, settle, kv, [(0, plan.ram)], bool(rasdaemon_db))
        result["model"] = {"kernel": model_kernel, "kernel_version": str(kv), "boot": model["boot"],
                           "events": [{"event": kk, "lines": model["events"].get(kk, [])} for kk in range(len(events))]}
        result.update(compare(real, model, len(events), k.series or _series_of(result["kernel"]["booted"])))
        if rasdaemon_db and result["rasdaemon"].get("tables") is not None:
            from ..replay.trace import compare as compare_trace
            ras = result["rasdaemon"]
            ras["differences"] = compare_rasdaemon(ras["tables"], model["rasdaemon"])
            ras["trace_differences"], ras["trace_explained"] = compare_trace(ras["trace"], model["trace"])
    return result


def _rasdaemon_result(outcome, path: str) -> Dict:
    """Write the guest's rasdaemon database to `path` (atomically) and list its events."""
    import sqlite3
    from ..fileio import write_output
    from ..fleet.rasdaemon import read_events
    from .rasdaemon import trace_events
    trace = trace_events(outcome.lines)
    if outcome.rasdaemon_db is None:
        return {"path": None, "error": "rasdaemon's database did not come back from the guest", "tables": None,
                "trace": trace}
    write_output(path, outcome.rasdaemon_db)
    try:
        tables = read_events(path)
    except sqlite3.Error as e:
        return {"path": path, "error": f"not a database: {e}", "tables": None, "trace": trace}
    return {"path": path, "tables": tables, "events": {t: len(r) for t, r in tables.items() if r},
            "trace": trace}


def compare_rasdaemon(real: Dict[str, list], model: Dict[str, list]) -> List[Dict]:
    """Rows only the real rasdaemon recorded, and rows only the model wrote, per table the real
    rasdaemon has (Debian's build records no arm_event or non_standard_event; ids and timestamps
    left out: they are the run's)."""
    from ..replay.trace import unmatched
    out = []
    for table in sorted(real):
        a, b = unmatched(real[table], model.get(table, []))
        out += [{"table": table, "only_in": "kernel", "row": r} for r in a]
        out += [{"table": table, "only_in": "model", "row": r} for r in b]
    return out


def warnings_for(lines: List[str], real: Dict) -> List[str]:
    """What a user should know about a run that ended but may not mean what it seems."""
    out = []
    qemu = [l for l in lines if l.startswith("qemu-system-")]
    if qemu:
        out.append(qemu[-1])
    if any(_PRINTK.match(l) for l in lines) and not any("HEST: Table parsing" in l or "HEST:" in l
                                                       for l in real["boot"]):
        out.append("the kernel printed nothing about the HEST: is it built with CONFIG_ACPI_APEI "
                   "(and GHES), or booted with hest_disable?")
    return out


def model_version(k, lines: List[str]):
    """The release the model's lines follow: the cached kernel's Debian version, else the package
    version Debian's banner ends with ("... Debian 6.1.176-1 (2026-...)"), else the booted series."""
    from ..kernel_versions import KernelVersion
    candidates = [k.version] + [m.group(1) for line in lines[:50] if "Linux version" in line
                                for m in [re.search(r"Debian (\d+\.\d+\.\d+)", line)] if m]
    for text in candidates:
        if text and re.match(r"\d+\.\d+\.\d+", text):
            return KernelVersion(text)
    return KernelVersion(_series_of(_booted_version(lines)) or "latest")


def _series_of(version: Optional[str]) -> Optional[str]:
    m = re.match(r"(\d+\.\d+)", version or "")
    return m.group(1) if m else None


def _booted_version(lines: List[str]) -> Optional[str]:
    for line in lines[:50]:
        m = re.search(r"Linux version (\S+)", line)
        if m:
            return m.group(1)
    return None
