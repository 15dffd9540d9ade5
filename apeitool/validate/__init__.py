"""validate: run the rules over tables, CPER records and error status blocks.

    from apeitool.validate import validate_bytes
    for finding in validate_bytes(open("HEST", "rb").read(), "HEST"):
        print(finding.rule, finding.severity, finding.path, finding.offset, finding.message)

Input the decoders cannot walk to the end still gets a report: the table header is checked and
the point where decoding stopped is a TABLE.STRUCTURE finding. Input that is not recognisable at
all (not a table, not CPER) raises the decoder's one-line error.
"""
from __future__ import annotations

from typing import List, Optional

from .engine import (ARCHES, RULES, SEVERITIES, TARGETS, Context, Finding, active_arches, fails, load_rules,
                     run, worst)

__all__ = ["validate_bytes", "validate_path", "Finding", "RULES", "TARGETS", "SEVERITIES", "load_rules",
           "fails", "worst"]


def _arches_for(kind: str, model: Optional[dict], target: Optional[str]):
    if kind == "hest" and model:
        from .rules_hest import infer_arches
        inferred = infer_arches(model)
    else:
        inferred = ARCHES
    return active_arches(target, inferred)


def validate_decoded(decoded, target: Optional[str] = None, region: Optional[bytes] = None,
                     kernel_version=None) -> List[Finding]:
    region_blocks = region_lines = None
    if region is not None and decoded.kind == "bert":
        from ..cper.bert import walk_region
        region_lines, region_blocks = walk_region(region, decoded.model["boot_error_region_length"],
                                                  version=kernel_version)
    ctx = Context(decoded.kind, decoded.model, decoded.data, decoded.warnings,
                  _arches_for(decoded.kind, decoded.model, target), decoded, region_blocks,
                  kernel_version=kernel_version)
    ctx.region_lines = region_lines
    return run(ctx, target, decoded.label)


def _structure_only(data: bytes, label: str, error, target: Optional[str]) -> Optional[List[Finding]]:
    """Findings for input whose header decodes but whose body does not; None if not even that."""
    from ..cper import detect_form
    from ..tables import looks_like_table
    if looks_like_table(data) and len(data) >= 36:
        kind = data[:4].decode("latin-1").lower()
        length = int.from_bytes(data[4:8], "little")
        body = data[:length] if 36 <= length <= len(data) else data
        ctx = Context(kind, None, body, (), _arches_for(kind, None, target), structure_error=error)
    elif detect_form(data):
        form = detect_form(data)
        ctx = Context("estatus" if form == "estatus" else "cper", None, data, (),
                      _arches_for("cper", None, target), structure_error=error)
    else:
        return None
    return run(ctx, target, label)


def validate_bytes(data: bytes, label: str = "<bytes>", target: Optional[str] = None,
                   table: Optional[str] = None, form: Optional[str] = None,
                   region: Optional[bytes] = None, kernel_version=None) -> List[Finding]:
    """All findings for one input (several tables in an acpidump: all of them, in order)."""
    import apeitool
    from ..errors import DecodeError
    if target is not None and target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (known: {', '.join(TARGETS)})")
    try:
        decoded = apeitool.decode_bytes(data, label, table, form=form)
    except DecodeError as e:
        out = _structure_only(bytes(data), label, e, target)
        if out is None:
            raise
        return out
    findings: List[Finding] = []
    for d in decoded:
        findings.extend(validate_decoded(d, target, region, kernel_version))
    return findings


def validate_cper_file(f, label: str, form: str, target: Optional[str] = None,
                       kernel_version=None) -> List[Finding]:
    """The findings of a file of CPER records or status blocks, item by item in flat memory (the
    same findings, paths and offsets as validating the whole document). An item that cannot be
    decoded ends the walk with its TABLE.STRUCTURE finding, after the findings of the items before."""
    from ..cper import FORMS
    from ..errors import DecodeError
    from ..locate import item_offsets
    from ..render.streamed import ItemReader
    if target is not None and target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (known: {', '.join(TARGETS)})")
    kind = "estatus" if form == "estatus" else "cper"
    key = FORMS[form]
    arches = _arches_for(kind, None, target)
    reader = ItemReader(f, label, form)
    findings: List[Finding] = []
    try:
        for i, model, warnings, pos in reader:
            ctx = Context(kind, {"form": form, key: [model]}, b"", warnings, arches, kernel_version=kernel_version,
                          offsets=item_offsets(form, i, model, pos))
            ctx.first = i
            findings.extend(run(ctx, target, label))
    except DecodeError as e:
        ctx = Context(kind, None, b"", (), arches, structure_error=e, kernel_version=kernel_version)
        return findings + run(ctx, target, label)
    ctx = Context(kind, {"form": form, key: [], **reader.tail}, b"", reader.tail_warnings, arches,
                  kernel_version=kernel_version,
                  offsets={"trailing": reader.tail_offset} if reader.tail.get("trailing") else {})
    return findings + run(ctx, target, label)


def validate_path(path: str, target: Optional[str] = None, table: Optional[str] = None,
                  form: Optional[str] = None, region_path: Optional[str] = None,
                  kernel_version=None) -> List[Finding]:
    from ..bulk import window_form
    from ..inputs import open_input, read_bytes
    label = "<stdin>" if path == "-" else path
    cper_form = None if table or region_path else window_form(path, form)
    if cper_form is not None:          # records or status blocks: read in windows, never held whole
        with open_input(path) as f:    # (stdin was only peeked: its bytes are all still there)
            return validate_cper_file(f, label, cper_form, target, kernel_version)
    region = read_bytes(region_path) if region_path else None
    return validate_bytes(read_bytes(path), label, target, table, form, region, kernel_version)
