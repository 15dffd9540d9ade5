"""Field-level comparison of two decoded tables or CPER documents.

The comparison walks the plain models, not bytes. Lists pair their items by what identifies them:
HEST error sources by (type, Source Id), so a reordered or inserted source is one change; CPER
sections and status-block entries by position and section type; EINJ/ERST instruction entries by
sequence alignment, so an inserted entry is one addition; anything else by position.
Each change carries the field path in A and in B and the byte offset of the field in each input.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from .locate import offset_of, offsets_of


@dataclass
class Change:
    kind: str                 # "changed" | "added" | "removed"
    path: str                 # the path in A (in B for an addition)
    a: Any = None
    b: Any = None
    path_b: Optional[str] = None
    offset_a: Optional[int] = None
    offset_b: Optional[int] = None
    within: int = 0           # a register inside a byte field: its offset from the field's start

    def as_dict(self) -> dict:
        out = {"kind": self.kind, "path": self.path, "a": self.a, "b": self.b}
        if self.path_b and self.path_b != self.path:
            out["path_b"] = self.path_b
        out["offset_a"], out["offset_b"] = self.offset_a, self.offset_b
        return out


@dataclass
class Pairing:
    """One list item matched across A and B (index None: only on one side)."""
    ia: Optional[int]
    ib: Optional[int]


def _hest_key(item) -> tuple:
    if not isinstance(item, dict):
        return (None, None)
    return (str(item.get("type")), item.get("source_id"))


def pair_by_key(a: list, b: list, key: Callable) -> List[Pairing]:
    """Items with equal keys pair in order of appearance; the rest are additions/removals."""
    free: Dict[Any, List[int]] = {}
    for j, item in enumerate(b):
        free.setdefault(key(item), []).append(j)
    out, used = [], set()
    for i, item in enumerate(a):
        slots = free.get(key(item))
        if slots:
            j = slots.pop(0)
            used.add(j)
            out.append(Pairing(i, j))
        else:
            out.append(Pairing(i, None))
    out.extend(Pairing(None, j) for j in range(len(b)) if j not in used)
    return out


def pair_by_position(a: list, b: list, same: Callable = None) -> List[Pairing]:
    """i with i (when `same` says they are the same kind of thing), leftovers added/removed."""
    out = []
    for i in range(max(len(a), len(b))):
        if i < len(a) and i < len(b):
            if same is None or same(a[i], b[i]):
                out.append(Pairing(i, i))
            else:
                out += [Pairing(i, None), Pairing(None, i)]
        elif i < len(a):
            out.append(Pairing(i, None))
        else:
            out.append(Pairing(None, i))
    return out


def _instruction_score(x, y) -> int:
    """How alike two EINJ/ERST instruction entries are; 0: never the same entry (another action).
    The action says what the entry is for; instruction, register, value and mask what it does."""
    if not isinstance(x, dict) or not isinstance(y, dict) or x.get("action") != y.get("action"):
        return 0
    score = 16 + 8 * (x.get("instruction") == y.get("instruction"))
    rx, ry = x.get("register_region") or {}, y.get("register_region") or {}
    score += 4 * (rx == ry) + 2 * (rx.get("address") == ry.get("address"))
    score += (x.get("value") == y.get("value")) + (x.get("mask") == y.get("mask")) + (x == y)
    return score


def pair_by_alignment(a: list, b: list, score: Callable = _instruction_score) -> List[Pairing]:
    """A global sequence alignment (Needleman-Wunsch, no gap cost) that maximises the summed
    similarity of paired items and keeps their order: an inserted entry is one addition, an entry
    whose register moved is one change, and entries of different actions never pair."""
    n, m = len(a), len(b)
    if n * m > 250_000:   # no instruction table is near this; fall back to exact matches
        score = lambda x, y: 1 if x == y else 0    # noqa: E731
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            s = score(a[i], b[j])
            row[j] = max(below[j], row[j + 1], below[j + 1] + s if s else 0)
    out, i, j = [], 0, 0
    while i < n and j < m:
        s = score(a[i], b[j])
        if s and best[i][j] == best[i + 1][j + 1] + s:
            out.append(Pairing(i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            out.append(Pairing(i, None))
            i += 1
        else:
            out.append(Pairing(None, j))
            j += 1
    out += [Pairing(k, None) for k in range(i, n)] + [Pairing(None, k) for k in range(j, m)]
    return out


def _section_type(item) -> Optional[str]:
    if not isinstance(item, dict):
        return None
    desc = item.get("descriptor", item)
    return str(desc.get("section_type")).lower() if isinstance(desc, dict) else None


def _same_section(x, y) -> bool:
    return _section_type(x) == _section_type(y)


def pairing_for(kind: str, path: str, name: str) -> Callable[[list, list], List[Pairing]]:
    """How the list at `path` (its last name `name`) pairs its items for this kind of input."""
    if kind == "hest" and path == "sources":
        return lambda a, b: pair_by_key(a, b, _hest_key)
    if kind in ("einj", "erst") and path == "entries":
        return pair_by_alignment
    if (kind.startswith("cper") or kind == "estatus") and name in ("sections", "entries"):
        return lambda a, b: pair_by_position(a, b, _same_section)
    return pair_by_position


def summary(value) -> str:
    """A short description of an added/removed item for the text report."""
    if isinstance(value, dict):
        if "type" in value and "source_id" in value:
            notify = value.get("notify", {}).get("type") if isinstance(value.get("notify"), dict) else None
            return f"{value['type']} source_id {value['source_id']}" + (f", notify {notify}" if notify else "")
        if "action" in value and "instruction" in value:
            return f"{value['action']} / {value['instruction']}"
        stype = _section_type(value)
        if stype and stype != "none":
            from .cper.body import section_key
            return f"section {section_key(stype) or stype}"
    text = json.dumps(value, default=str)
    return text if len(text) <= 70 else text[:67] + "..."


class Differ:
    def __init__(self, kind: str):
        self.kind = kind
        self.changes: List[Change] = []

    def compare(self, a, b, pa: str = "", pb: str = "", section: Optional[str] = None) -> None:
        """Walk a and b together; `section` is the section key of the CPER section being walked."""
        if isinstance(a, dict) and isinstance(b, dict):
            section = _section_key(a, b) or section
            for k in list(a) + [k for k in b if k not in a]:
                sa, sb = _join(pa, k), _join(pb, k)
                if k not in b:
                    self.changes.append(Change("removed", sa, a[k], None))
                elif k not in a:
                    self.changes.append(Change("added", sb, None, b[k], sb))
                else:
                    self.compare(a[k], b[k], sa, sb, section)
        elif isinstance(a, list) and isinstance(b, list):
            shape = re.sub(r"\[\d+\]", "", pa)
            pairing = pairing_for(self.kind, shape, shape.rsplit(".", 1)[-1])
            for p in pairing(a, b):
                sa, sb = f"{pa}[{p.ia}]", f"{pb}[{p.ib}]"
                if p.ib is None:
                    self.changes.append(Change("removed", sa, a[p.ia], None, None))
                elif p.ia is None:
                    self.changes.append(Change("added", sb, None, b[p.ib], sb))
                else:
                    self.compare(a[p.ia], b[p.ib], sa, sb, section)
        elif a != b and not self._registers(a, b, pa, pb, section):
            self.changes.append(Change("changed", pa, a, b, pb))

    def _registers(self, a, b, pa: str, pb: str, section: Optional[str]) -> bool:
        """PCIe capability/AER bytes differ register by register, not as two hex strings."""
        if section != "pcie" or not isinstance(a, str) or not isinstance(b, str) or len(a) != len(b):
            return False
        from .render.libcper_pcie import register_view
        try:
            va, vb = register_view(pa.rsplit(".", 1)[-1], bytes.fromhex(a)), \
                register_view(pb.rsplit(".", 1)[-1], bytes.fromhex(b))
        except ValueError:
            return False
        if va is None or vb is None or va[0] == vb[0]:
            return False        # only bits no register field reads changed: the bytes change says it
        start = len(self.changes)
        self.compare(va[0], vb[0], pa, pb)
        for c in self.changes[start:]:
            prefix, offsets = (pb, vb[1]) if c.kind == "added" else (pa, va[1])
            c.within = offsets.get(c.path[len(prefix) + 1:].split(".", 1)[0], 0)
        xor = int.from_bytes(bytes.fromhex(a), "little") ^ int.from_bytes(bytes.fromhex(b), "little")
        if xor & ~(va[2] & vb[2]):
            self.changes.append(Change("changed", pa, a, b, pb))   # and bits outside the fields too
        return True


def _section_key(a: dict, b: dict) -> Optional[str]:
    """The section key of a CPER section (descriptor form) or status-block entry, when A and B agree."""
    from .cper.body import section_key
    ta = a.get("descriptor", a).get("section_type") if isinstance(a.get("descriptor", a), dict) else None
    tb = b.get("descriptor", b).get("section_type") if isinstance(b.get("descriptor", b), dict) else None
    return section_key(ta) if ta is not None and ta == tb else None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def diff_models(kind: str, a: dict, b: dict) -> List[Change]:
    differ = Differ(kind)
    differ.compare(a, b)
    return differ.changes


# -- globs over paths ---------------------------------------------------------------------------

def glob_regex(pattern: str):
    """'*' any run of characters (dots and brackets too), '?' one; everything else literal, so
    'sources[*].notify.type' and 'header.*' mean what they look like."""
    out = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(out + r"\Z")


def ignored(change: Change, patterns) -> bool:
    paths = [change.path] + ([change.path_b] if change.path_b else [])
    return any(rx.match(p) for rx in patterns for p in paths)


# -- the whole job ------------------------------------------------------------------------------

@dataclass
class DiffResult:
    a_label: str
    b_label: str
    kind: str
    changes: List[Change] = field(default_factory=list)
    ignored: int = 0

    def stat(self) -> dict:
        counts = {"changed": 0, "added": 0, "removed": 0}
        for c in self.changes:
            counts[c.kind] += 1
        return counts


def diff_decoded(da, db, ignore=()) -> DiffResult:
    """Compare two apeitool.Decoded of the same kind; offsets are looked up in each input."""
    from .errors import InputError
    kind_a, kind_b = _kind(da), _kind(db)
    if kind_a != kind_b:
        raise InputError(f"cannot compare {_describe(kind_a)} ({da.label}) with {_describe(kind_b)} "
                         f"({db.label})")
    changes = diff_models(kind_a, da.model, db.model)
    patterns = [glob_regex(p) for p in ignore]
    kept = [c for c in changes if not ignored(c, patterns)]
    if kept:
        oa, ob = offsets_of(da), offsets_of(db)
        for c in kept:
            if c.kind != "added":
                c.offset_a = _plus(offset_of(oa, c.path), c.within)
            if c.kind != "removed" and c.path_b:
                c.offset_b = _plus(offset_of(ob, c.path_b), c.within)
    return DiffResult(da.label, db.label, kind_a, kept, len(changes) - len(kept))


def diff_cper_files(path_a: str, path_b: str, form: str, ignore=()) -> DiffResult:
    """diff_decoded of two files of CPER records (or status blocks), read item by item in
    lockstep: item i of A against item i of B, the rest added or removed. The same changes,
    paths and offsets as comparing the whole documents, in flat memory."""
    from .cper import FORMS
    from .inputs import open_input
    from .locate import item_offsets
    from .render.streamed import ItemReader
    kind = "cper-record" if form == "record" else "estatus"
    key = FORMS[form]
    patterns = [glob_regex(p) for p in ignore]
    differ = Differ(kind)
    kept: List[Change] = []
    dropped = 0

    def take(start: int, oa, ob) -> None:
        nonlocal dropped
        for c in differ.changes[start:]:
            if ignored(c, patterns):
                dropped += 1
                continue
            if c.kind != "added" and oa is not None:
                c.offset_a = _plus(offset_of(oa, c.path), c.within)
            if c.kind != "removed" and c.path_b and ob is not None:
                c.offset_b = _plus(offset_of(ob, c.path_b), c.within)
            kept.append(c)
        del differ.changes[start:]

    with open_input(path_a) as fa, open_input(path_b) as fb:
        ra, rb = ItemReader(fa, path_a, form), ItemReader(fb, path_b, form)
        ita, itb = iter(ra), iter(rb)
        while True:
            xa, xb = next(ita, None), next(itb, None)
            if xa is None and xb is None:
                break
            if xa is not None and xb is not None:
                i, ma, _wa, pa = xa
                _j, mb, _wb, pb = xb
                differ.compare(ma, mb, f"{key}[{i}]", f"{key}[{i}]")
                take(0, item_offsets(form, i, ma, pa), item_offsets(form, i, mb, pb))
            elif xb is None:
                i, ma, _w, pa = xa
                differ.changes.append(Change("removed", f"{key}[{i}]", ma, None, None))
                take(0, {f"{key}[{i}]": pa}, None)
            else:
                i, mb, _w, pb = xb
                differ.changes.append(Change("added", f"{key}[{i}]", None, mb, f"{key}[{i}]"))
                take(0, None, {f"{key}[{i}]": pb})
        differ.compare(ra.tail, rb.tail)
        take(0, {"trailing": ra.tail_offset}, {"trailing": rb.tail_offset})
    return DiffResult(path_a, path_b, kind, kept, dropped)


def _plus(offset: Optional[int], within: int) -> Optional[int]:
    return None if offset is None else offset + within


def _kind(decoded) -> str:
    if decoded.kind == "cper":
        return "cper-" + decoded.model["form"]
    return decoded.kind


def _describe(kind: str) -> str:
    return {"cper-record": "CPER records", "cper-section": "CPER sections",
            "estatus": "error status blocks"}.get(kind, f"a {kind.upper()} table")


# -- inputs: anything decode reads, or a YAML/JSON spec (built, then decoded) --------------------

_SPEC_START = re.compile(r"\s*(#[^\n]*\n\s*)*(\{|\[|-\s|[A-Za-z_]\w*\s*:)")


def _looks_like_spec(data: bytes) -> bool:
    from .inputs import _is_text
    return _is_text(data) and bool(_SPEC_START.match(data[:4096].decode("utf-8", "replace")))


def _spec_table_kind(spec) -> Optional[str]:
    from .tables import supported_signatures
    header = spec.get("header") if isinstance(spec, dict) else None
    sig = header.get("signature") if isinstance(header, dict) else None
    return sig.lower() if isinstance(sig, str) and sig.upper() in supported_signatures() else None


def _one(results, label: str):
    from .errors import InputError
    if len(results) != 1:
        sigs = ", ".join(r.kind.upper() for r in results)
        raise InputError(f"holds {len(results)} tables ({sigs}): choose one with --table SIG", source=label)
    return results[0]


def load_pair(path_a: str, path_b: str, table: Optional[str] = None, form: Optional[str] = None):
    """Decode both inputs; a spec is built first, as the kind its header or the other input says."""
    import apeitool
    from .inputs import read_bytes
    from .specs import parse_spec_text, single_table_spec
    sides = []
    for path in (path_a, path_b):
        label = "<stdin>" if path == "-" else path
        data = read_bytes(path)
        if _looks_like_spec(data):
            spec = parse_spec_text(data.decode("utf-8", "replace"), label)
            if isinstance(spec, list) and len(spec) == 1:
                spec = spec[0]
            sides.append(("spec", label, single_table_spec(spec, label)))
        else:
            sides.append(("data", label, _one(apeitool.decode_bytes(data, label, table, form=form), label)))
    decoded = [s[2] for s in sides if s[0] == "data"]
    out = []
    for how, label, value in sides:
        if how == "data":
            out.append(value)
            continue
        kind = _spec_table_kind(value) or (decoded[0].kind if decoded else None)
        out.append(_built(value, label, kind))
    return out[0], out[1]


def _built(spec, label: str, kind: Optional[str]):
    import apeitool
    from .cper import doc_form
    from .errors import ApeiError
    try:
        if kind in (None, "cper", "estatus"):
            form = doc_form(spec)
            raw = apeitool.build(spec, "cper")
            return apeitool.decode_bytes(raw, label, kind="cper", form=form)[0]
        raw = apeitool.build(spec, kind)
        return _one(apeitool.decode_bytes(raw, label, kind.upper()), label)
    except ApeiError as e:
        raise e.with_source(label)
