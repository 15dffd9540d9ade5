"""apeitool vm: the same event stream as replay, through a real Linux kernel under QEMU.

    from apeitool.vm import run
    result = run(hest_model, events, kernel="6.1", compare=True)
    result["events"][3]["lines"], result["differences"]

The kernel's console is split at our marks into the boot (probe) lines and each event's lines,
normalised where a run is not deterministic, and (with compare) set beside what replay's model
prints for the same HEST and events, event by event.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from .plan import Plan, add_events, complete, lay_out, relocate

__all__ = ["run", "relevant", "normalise", "KNOWN_DIFFERENCES"]

_PRINTK = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")
# the kernel lines about APEI, GHES, CPER and what follows from them
_RELEVANT = re.compile(r"HEST:|GHES:|APEI:|BERT:|ERST:|EINJ:|\[Hardware Error\]|Memory failure:|mce: |AER:|"
                       r"Kernel panic|Uhhuh\. NMI|Dazed and confused|\[Firmware (Bug|Warn)\]|soft_offline|"
                       r"pstore:|NMI received|NMI handler \(ghes_notify_nmi\)")
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
    ("kernel", re.compile(r"^Memory failure: 0x[0-9a-f]+: recovery action for"), None, "memory_failure()'s "
     "own outcome (free buddy page, ...): the model stops at queueing memory_failure"),
    ("kernel", re.compile(r"^AER: no pci_dev for"), None, "the guest has no such PCI device: AER recovery "
     "finds none"),
    ("kernel", re.compile(r"^\[Firmware Warn\]: CXL CPER (Invalid section length|invalid event)"),
     {"6.12", "7.2"}, "ghes_do_proc checks CXL component event records before handing them to the CXL "
     "driver (\"acpi/ghes: Process CXL Component Events\", v6.9); the model has no kernel eras yet"),
    ("kernel", re.compile(r"\]:\s+node: \d+ "), {"5.10"}, "5.10 prints the memory location as \"node: N "
     "card: N ...\"; later kernels as \"node:N card:N ...\" (the renderer follows them)"),
    ("model", re.compile(r"\]:\s+node:\d+ "), {"5.10"}, "the same line in the newer format"),
    ("kernel", re.compile(r"^Kernel panic - not syncing: Fatal hardware error!$"), {"5.10"}, "5.10's "
     "__ghes_panic says \"Fatal hardware error!\"; later kernels \"GHES: Fatal hardware error\" (the "
     "model follows them)"),
    ("model", re.compile(r"^Kernel panic - not syncing: GHES: Fatal hardware error$"), {"5.10"},
     "the same panic in the newer wording"),
    ("model", re.compile(r"\]:\s+(aer_(cor|uncor)_\w+|TLP Header):"), {"5.10", "6.1"}, "before \"efi/cper: "
     "Print correctable AER information\" (2024) the AER registers print only for fatal severity; the "
     "renderer follows the newer kernels"),
]


# Section types a kernel series prints as "section type: unknown" with a hex dump (it predates
# their printers): every difference in that event is explained by it. Seen under apeitool vm.
CXL_PROTOCOL = "80b9efb4-52b5-4de3-a777-68784b771048"
CXL_COMPONENT = ("601dcbb3-9c06-4eab-b8af-4e9bfb5c9624", "fbcd0a77-c260-417f-85a9-088b1621eba6",
                 "fe927475-dd59-4339-a586-79bab113b774", "77cf9271-9c02-470b-9fe4-bc7b75f2da97",
                 "40d26425-3396-4c4d-a5da-3d47263af425", "8dc44363-0c96-4710-b7bf-04bb99534c3f")
UNDECODED = {
    "5.10": ({CXL_PROTOCOL, *CXL_COMPONENT}, "5.10 has no CXL printers: it dumps the section as unknown"),
    "6.1": ({CXL_PROTOCOL, *CXL_COMPONENT}, "6.1 has no CXL printers (the protocol error and component "
                                              "event printers came later): it dumps the section as unknown"),
}
_UNKNOWN_SECTION = re.compile(r"section type: unknown, ([0-9a-f-]{36})")


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


def model_lines(hest: dict, events: list, kernel: str, arch: str, settle: float = 0.0) -> Dict:
    """replay's log, split the same way: probe lines, then each event's lines including the polls
    that come due before the next event (in the guest they print while it waits), and after the
    last event the `settle` seconds the guest waits before it stops."""
    from ..replay import Simulation
    from ..replay.kernel import Panic
    sim = Simulation(hest, kernel, arch, keep=100000)
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
    return out


def compare(real: Dict, model: Dict, n_events: int, series: Optional[str] = None) -> Dict:
    """Per part (boot, each event): lines only the kernel printed, only the model printed; those
    matching KNOWN_DIFFERENCES are explained, the rest are differences."""
    import difflib
    differences, explained = [], []
    parts = [("boot", real["boot"], model["boot"])] + \
        [(k, real["events"].get(k, []), model["events"].get(k, [])) for k in range(n_events)]
    undecoded, undecoded_why = UNDECODED.get(series, (set(), ""))
    for where, a, b in parts:
        na, nb = [normalise(x) for x in a], [normalise(x) for x in b]
        dumped = {m.group(1) for x in na for m in [_UNKNOWN_SECTION.search(x)] if m} & undecoded
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, na, nb, autojunk=False).get_opcodes():
            if op == "equal":
                continue
            for side, items in (("kernel", na[i1:i2]), ("model", nb[j1:j2])):
                for line in items:
                    why = next((w for s, rx, only, w in KNOWN_DIFFERENCES if s == side and rx.search(line)
                                and (only is None or series in only)), None)
                    if why is None and dumped:
                        why = undecoded_why
                    entry = {"event": where, "only_in": side, "line": line}
                    if why:
                        explained.append(dict(entry, why=why))
                    else:
                        differences.append(entry)
    return {"differences": differences, "explained": explained}


def run(hest: dict, events: list, kernel: Optional[str] = None, arch: str = "x86_64",
        do_compare: bool = False, model_kernel: str = "v5.1", timeout: float = 180.0,
        console: Optional[str] = None, relocated: bool = False, hest_bytes: Optional[bytes] = None) -> Dict:
    """Boot a kernel with `hest` and deliver `events`; the result document."""
    import apeitool
    from ..errors import InputError
    from .guest import boot
    from .kernels import find, is_kernel_image
    k = find(kernel, arch)
    if arch == "arm64":
        from . import arm64
        if not is_kernel_image(k.path, arch):
            raise InputError("not an arm64 kernel image", source=k.path)
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
    outcome = boot(plan, k.path, arch, table, timeout=timeout, console=console, settle=settle)
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
    if do_compare:
        model = model_lines(hest, events, model_kernel, arch, settle)
        result["model"] = {"kernel": model_kernel, "boot": model["boot"],
                           "events": [{"event": kk, "lines": model["events"].get(kk, [])} for kk in range(len(events))]}
        result.update(compare(real, model, len(events), k.series or _series_of(result["kernel"]["booted"])))
    return result


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


def _series_of(version: Optional[str]) -> Optional[str]:
    m = re.match(r"(\d+\.\d+)", version or "")
    return m.group(1) if m else None


def _booted_version(lines: List[str]) -> Optional[str]:
    for line in lines[:50]:
        m = re.search(r"Linux version (\S+)", line)
        if m:
            return m.group(1)
    return None
