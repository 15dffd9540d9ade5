"""The rule engine: a registry of rules with stable ids, the profiles that select them, and the run.

A rule is a function over a Context that yields (path, message); the engine adds the rule's id,
severity and reference, and the byte offset of the path (apeitool.locate). Rules are grouped in
modules by what they read (tables, HEST, BERT/EINJ/ERST, CPER); each module registers its rules
with @rule when imported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Tuple

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
TARGETS = ("spec", "linux-arm64", "linux-x86_64")
ARCHES = ("arm64", "x86_64")


@dataclass
class Rule:
    id: str
    severity: str
    title: str
    reference: str
    kinds: Tuple[str, ...]     # hest, bert, einj, erst, cper, estatus
    profile: str               # "spec" (ACPI/UEFI, fwts, firmware survey) or "linux" (kernel behaviour)
    check: Callable
    doc: str = ""


@dataclass
class Finding:
    rule: str
    severity: str
    path: str
    offset: Optional[int]
    message: str
    reference: str
    source: str = ""

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": self.severity, "path": self.path, "offset": self.offset,
                "message": self.message, "reference": self.reference, "file": self.source}


RULES: Dict[str, Rule] = {}


def rule(id: str, severity: str, title: str, reference: str, kinds, profile: str = "spec"):
    """Register a check. Its docstring is the rule's documentation (--list-rules)."""
    assert severity in SEVERITIES and profile in ("spec", "linux") and id not in RULES, id

    def register(fn):
        doc = " ".join((fn.__doc__ or "").split())
        RULES[id] = Rule(id, severity, title, reference, tuple(kinds), profile, fn, doc)
        return fn
    return register


class Context:
    """What a rule sees: the decoded model (None when only the header decoded), the raw bytes, the
    decoder's warnings, and the kernels (arches) the Linux rules speak for."""

    def __init__(self, kind: str, model: Optional[dict], data: bytes, warnings=(), arches=ARCHES,
                 decoded=None, region_blocks=None, structure_error=None, kernel_version=None, offsets=None):
        from ..kernel_versions import kernel_version as _kv
        self.kind = kind
        self.kv = _kv(kernel_version)    # the Linux release the LINUX.* rules speak for
        self.model = model
        self.data = data
        self.warnings = list(warnings)
        self.arches = tuple(arches)
        self.decoded = decoded
        self.region_blocks = region_blocks   # a BERT's boot error region, decoded, when given
        self.structure_error = structure_error  # the DecodeError that stopped the body decode
        self.region_lines = None                # what bert.c logs walking the region
        self._offsets = offsets               # path -> offset; worked out from `decoded` when None
        self._linux_view = None
        self.first = 0                          # the number of the model's first item (streamed CPER)

    @property
    def linux_view(self):
        """The entries Linux's apei_hest_parse walks (linux_hest.linux_view), worked out once for
        every rule that asks (with zero gaps it builds and walks the table)."""
        if self._linux_view is None:
            from ..linux_hest import linux_view
            self._linux_view = linux_view(self.model or {})
        return self._linux_view

    @property
    def offsets(self):
        if self._offsets is None:
            from ..locate import offsets_of
            try:
                self._offsets = offsets_of(self.decoded) if self.decoded is not None else {}
            except Exception:  # a model the walkers cannot place: findings keep their paths
                self._offsets = {}
        return self._offsets

    def warned(self, field_suffix: str):
        """Decoder warnings on a field ending with `field_suffix`."""
        return [w for w in self.warnings if (w.field or "").endswith(field_suffix)]


def load_rules() -> Dict[str, Rule]:
    # registration order is report order: table-wide, HEST, BERT/EINJ/ERST, CPER
    from . import rules_table, rules_hest, rules_instructions, rules_cper  # noqa: F401,I001
    return RULES


def active_arches(target: Optional[str], inferred: Iterable[str]) -> Tuple[str, ...]:
    if target in ("linux-arm64", "linux-x86_64"):
        return (target.split("-", 1)[1],)
    return tuple(inferred)


def run(ctx: Context, target: Optional[str] = None, label: str = "") -> List[Finding]:
    """Every rule of the profile that applies to ctx.kind, in registry order."""
    from ..locate import offset_of
    rules = load_rules()
    out: List[Finding] = []
    for r in rules.values():
        if ctx.kind not in r.kinds:
            continue
        if target == "spec" and r.profile != "spec":
            continue
        if target in ("linux-arm64", "linux-x86_64") and r.profile != "linux":
            continue
        if r.profile == "linux" and not ctx.arches:
            continue
        for item in r.check(ctx) or ():
            path, message = item[0], item[1]
            offset = item[2] if len(item) > 2 else offset_of(ctx.offsets, path) if path else None
            out.append(Finding(r.id, r.severity, path, offset, message, r.reference, label))
    return out


def worst(findings: List[Finding]) -> Optional[str]:
    ranks = [SEVERITY_RANK[f.severity] for f in findings]
    return SEVERITIES[min(ranks)] if ranks else None


def fails(findings: List[Finding], level: str) -> bool:
    return any(SEVERITY_RANK[f.severity] <= SEVERITY_RANK[level] for f in findings)


def kernels_text(arches) -> str:
    return " and ".join(f"linux-{a}" for a in arches)


def by_value(table: dict) -> Dict[str, int]:
    return {v: k for k, v in table.items()}


def enum_int(kind: str, value) -> Optional[int]:
    """The number behind a model enum value (names for known values, ints for the rest)."""
    from ..names import ENUMS
    if isinstance(value, int):
        return value
    names, aliases, _spec = ENUMS[kind]
    for k, v in names.items():
        if v == value:
            return k
    return aliases.get(value)


def flags_int(flags, bits: List[Tuple[str, int]]) -> int:
    if isinstance(flags, int):
        return flags
    value = flags.get("reserved", 0) or 0
    for name, bit in bits:
        if flags.get(name):
            value |= 1 << bit
    return value

