"""CPER record and error status block rules: UEFI 2.10 Appendix N, ACPI 6.5 §18.3.2.7.1, fwts's
BERT region checks, and Linux's cper_estatus_check / GHES reading rules."""
from __future__ import annotations

from .engine import kernels_text, rule

CPER = ("cper",)
ESTATUS = ("estatus", "bert")   # a BERT's boot error region (given with --region) is status blocks
SEVERITY_NAMES = ("recoverable", "fatal", "corrected", "informational")
SEVERITY_RANK = {"fatal": 0, "recoverable": 1, "corrected": 2, "informational": 3}


def records(ctx):
    if ctx.kind == "cper" and ctx.model:
        key = {"record": "records", "section": "sections"}.get(ctx.model.get("form"))
        for i, item in enumerate(ctx.model.get(key, []) if key else [], ctx.first):
            yield f"{key}[{i}]", item


def sections(ctx):
    """(path, section) for the sections of records and section-form documents."""
    for path, item in records(ctx):
        if "descriptor" in item:
            yield path, item
        for s, sec in enumerate(item.get("sections", [])):
            yield f"{path}.sections[{s}]", sec


def blocks(ctx):
    """(path, block): status-block documents, or a BERT's region."""
    if ctx.kind == "estatus" and ctx.model:
        for i, b in enumerate(ctx.model.get("blocks", []), ctx.first):
            yield f"blocks[{i}]", b
    elif ctx.kind == "bert" and ctx.region_blocks:
        for i, b in enumerate(ctx.region_blocks):
            yield f"region.blocks[{i}]", b


def _sev_name(v):
    return v if isinstance(v, str) else None


# -- records and sections ---------------------------------------------------------------------------

@rule("CPER.SIGNATURE_END", "warning", "record Signature End is not 0xFFFFFFFF", "UEFI 2.10 §N.2.1", CPER)
def signature_end(ctx):
    """The record header's Signature End is 0xFFFFFFFF."""
    for path, rec in records(ctx):
        if "header" in rec and rec["header"]["signature_end"] != 0xFFFFFFFF:
            yield f"{path}.header.signature_end", f"Signature End 0x{rec['header']['signature_end']:08X}"


@rule("CPER.SECTION_COUNT_ZERO", "warning", "record with no sections", "UEFI 2.10 §N.2.1 (Section Count)", CPER)
def section_count_zero(ctx):
    """A record describes at least one error section."""
    for path, rec in records(ctx):
        if "header" in rec and rec["header"]["section_count"] == 0:
            yield f"{path}.header.section_count", "Section Count is 0"


@rule("CPER.SECTION_BOUNDS", "error", "section lies outside its record",
      "UEFI 2.10 §N.2.2 (Section Offset, Section Length)", CPER)
def section_bounds(ctx):
    """Section Offset + Section Length must stay inside Record Length; such a section cannot be read."""
    for w in ctx.warned("descriptor.section_offset"):
        if "outside" in w.message:
            yield w.field, w.message


@rule("CPER.SECTION_OVERLAP", "warning", "section body overlaps the record header or descriptors",
      "UEFI 2.10 §N.2.2", CPER)
def section_overlap(ctx):
    """Section bodies follow the descriptors."""
    for w in ctx.warned("descriptor.section_offset"):
        if "overlaps" in w.message:
            yield w.field, w.message


@rule("CPER.SECTION_BODY", "error", "section body does not fit its section type's layout",
      "UEFI 2.10 Appendix N (section layouts)", CPER + ("estatus",))
def section_body(ctx):
    """The section is shorter than its type's fixed layout, or a count/length inside it runs past
    the section: decoders (Linux included) skip or misread it. The other sections still decode."""
    items = list(sections(ctx)) + [(f"{p}.entries[{e}]", ent) for p, b in blocks(ctx)
                                   for e, ent in enumerate(b.get("entries", []))]
    for path, sec in items:
        if sec.get("error") and sec.get("body") is not None:
            yield f"{path}.body", sec["error"]


@rule("CPER.SEVERITY_RESERVED", "error", "severity value above 3",
      "UEFI 2.10 §N.2.1/N.2.2 (0 recoverable, 1 fatal, 2 corrected, 3 informational)", CPER)
def severity_reserved(ctx):
    """Error Severity is 0-3; Linux treats anything else as fatal (GHES_SEV_PANIC)."""
    for path, rec in records(ctx):
        if "header" in rec and not _sev_name(rec["header"]["error_severity"]):
            yield f"{path}.header.error_severity", f"record severity {rec['header']['error_severity']}"
    for path, sec in sections(ctx):
        if not _sev_name(sec["descriptor"]["section_severity"]):
            yield f"{path}.descriptor.section_severity", f"section severity {sec['descriptor']['section_severity']}"


@rule("CPER.RECORD_SEVERITY", "warning", "record severity below its worst section's",
      "UEFI 2.10 §N.2.1 (Error Severity: the most severe of the sections)", CPER)
def record_severity(ctx):
    """The record's severity summarises its sections: it is the most severe of them."""
    for path, rec in records(ctx):
        if "header" not in rec:
            continue
        sevs = [_sev_name(s["descriptor"]["section_severity"]) for s in rec.get("sections", [])]
        sevs = [s for s in sevs if s]
        head = _sev_name(rec["header"]["error_severity"])
        if sevs and head:
            worst = min(sevs, key=SEVERITY_RANK.get)
            if SEVERITY_RANK[worst] < SEVERITY_RANK[head]:
                yield f"{path}.header.error_severity", f"record severity {head}, a section is {worst}"


@rule("CPER.UNKNOWN_SECTION", "info", "section type GUID not known", "UEFI 2.10 Appendix N; libcper", CPER)
def unknown_section(ctx):
    """A section type neither UEFI nor the known vendors define: only its bytes can be shown."""
    from ..cper.body import section_key
    for path, sec in sections(ctx):
        if section_key(sec["descriptor"]["section_type"]) is None:
            yield f"{path}.descriptor.section_type", f"unknown section type {sec['descriptor']['section_type']}"


@rule("CPER.TRAILING", "warning", "bytes after the last record", "UEFI 2.10 §N.2.1 (Record Length)",
      CPER + ("estatus",))
def trailing(ctx):
    """Non-zero bytes follow the last record or block: a length that lies, or a cut stream."""
    if ctx.model and ctx.model.get("trailing"):
        yield "trailing", f"{len(ctx.model['trailing']) // 2} bytes after the last item"


# -- error status blocks (GHES blocks, BERT regions) -------------------------------------------------

@rule("BERT.REGION_WALK", "error", "the boot error region's walk stops at a broken block",
      "ACPI 6.5 §18.3.1; fwts BERTBootErrorRegionRawDataOffset, BERTBootErrorRegionRawDatalength, "
      "BERTBootErrorRegionDatalength; Linux drivers/acpi/apei/bert.c", ("bert",))
def region_walk(ctx):
    """Given the region (--region), it is walked as bert.c walks it: a block longer than what is left
    of the region, or one failing cper_estatus_check, ends the walk there and nothing after it is
    reported."""
    from ..cper.estatus import estatus_len
    for line in ctx.region_lines or ():
        if "[Firmware Bug]" in line:
            blocks = ctx.region_blocks or []
            pos = sum(max(estatus_len(b), 20 + b["data_length"]) for b in blocks)
            yield f"region.blocks[{len(blocks)}]", f"region offset 0x{pos:X}: {line}", None

@rule("ESTATUS.RAW_DATA", "error", "raw data overlaps the entries or runs past the block",
      "ACPI 6.5 §18.3.2.7.1 (raw data follows the entries); fwts BERTBootErrorRegionRawDataOffset, "
      "BERTBootErrorRegionRawDatalength", ESTATUS)
def raw_data(ctx):
    """Raw Data Offset must point after the data entries and raw data must end inside the block."""
    for path, b in blocks(ctx):
        dl, ro, rl = b["data_length"], b["raw_data_offset"], b["raw_data_length"]
        if rl and ro < 20 + dl:
            yield f"{path}.raw_data_offset", f"Raw Data Offset 0x{ro:X} lies inside the entries (end 0x{20 + dl:X})"


@rule("ESTATUS.SEVERITY_RESERVED", "error", "status block severity above 3",
      "ACPI 6.5 §18.3.2.7.1 (Error Severity 0-3); fwts BERTBootErrorRegionDataLength (severity check)", ESTATUS)
def block_severity(ctx):
    """Error Severity of a status block or data entry is 0-3."""
    for path, b in blocks(ctx):
        if not _sev_name(b["error_severity"]):
            yield f"{path}.error_severity", f"block severity {b['error_severity']}"
        for e, entry in enumerate(b.get("entries", [])):
            if not _sev_name(entry["error_severity"]):
                yield f"{path}.entries[{e}].error_severity", f"entry severity {entry['error_severity']}"


@rule("ESTATUS.ENTRY_COUNT", "info", "Block Status entry count disagrees with the entries",
      "ACPI 6.5 §18.3.2.7.1 (Block Status bits 13:4); QEMU leaves it 0", ESTATUS)
def entry_count(ctx):
    """Block Status bits 13:4 count the data entries; many firmwares (QEMU included) leave 0, and
    Linux does not read it."""
    for path, b in blocks(ctx):
        count = b["block_status"]["entry_count"]
        if count != len(b.get("entries", [])):
            yield f"{path}.block_status.entry_count", \
                f"entry count {count}, {len(b.get('entries', []))} entries present"


@rule("LINUX.ESTATUS.BLOCK_STATUS_ZERO", "warning", "Linux ignores the block: Block Status is 0",
      "Linux drivers/acpi/apei/ghes.c __ghes_peek_estatus (block_status 0: nothing pending)", ESTATUS, "linux")
def block_status_zero(ctx):
    """GHES reads a block only when Block Status is non-zero; entries under a zero status are never
    seen (BERT's walk stops at it too)."""
    for path, b in blocks(ctx):
        bs = b["block_status"]
        pending = any(bs.get(k) for k in ("uncorrectable", "correctable", "multiple_uncorrectable",
                                          "multiple_correctable")) or bs.get("entry_count") or bs.get("reserved")
        if not pending and b.get("entries"):
            yield f"{path}.block_status", f"{kernels_text(ctx.arches)}: Block Status 0 with " \
                                          f"{len(b['entries'])} entries: the block is not read"


@rule("LINUX.ESTATUS.CHECK", "error", "Linux rejects the block (cper_estatus_check)",
      "Linux drivers/firmware/efi/cper.c cper_estatus_check_header / cper_estatus_check", ESTATUS, "linux")
def estatus_check(ctx):
    """Linux checks data_length and raw data against the block, and walks the entries (each entry's
    length must fit and be whole): a block that fails is dropped with "Failed to read error status
    block!" (GHES) or "Invalid error record." (BERT)."""
    from ..cper.estatus import build_block, estatus_check as check
    for path, b in blocks(ctx):
        try:
            raw = build_block(b)
        except Exception:   # a model we cannot rebuild was already reported as structure
            continue
        if not check(raw):
            yield path, f"{kernels_text(ctx.arches)}: cper_estatus_check fails: the block is dropped"


# -- what GHES does with the sections (status blocks only: BERT and CPER records are only printed) ----

def entries(ctx):
    """(path, section key, entry) for the data entries of status-block documents."""
    from ..cper.body import section_key
    if ctx.kind != "estatus" or not ctx.model:
        return
    for path, b in blocks(ctx):
        for e, entry in enumerate(b.get("entries", [])):
            yield f"{path}.entries[{e}]", section_key(entry.get("section_type")), entry


def _valid_bits(body) -> int:
    v = body.get("validation_bits", 0) if isinstance(body, dict) else 0
    return v if isinstance(v, int) else 0


@rule("LINUX.GHES.MEMORY_NO_ACTION", "warning", "memory error Linux cannot act on: physical address not valid",
      "Linux drivers/acpi/apei/ghes.c ghes_handle_memory_failure (needs CPER_MEM_VALID_PA, bit 1)",
      ("estatus",), "linux")
def memory_no_action(ctx):
    """A recoverable memory error (or a corrected one over its threshold) asks the OS to poison or
    soft-offline the page; without a valid Physical Address Linux does nothing with it."""
    for path, key, entry in entries(ctx):
        body = entry.get("body")
        if key != "platform_memory" or not isinstance(body, dict) or "data" in body:
            continue
        sev = entry.get("error_severity")
        threshold = entry.get("flags", {}).get("error_threshold_exceeded")
        if (sev == "recoverable" or sev == "corrected" and threshold) and not _valid_bits(body) >> 1 & 1:
            action = "memory_failure" if sev == "recoverable" else "soft offline"
            yield f"{path}.body.validation_bits", (f"{kernels_text(ctx.arches)}: {sev} memory error without a valid "
                                                   f"physical address: no {action}")


@rule("LINUX.GHES.AER_NO_RECOVERY", "warning", "uncorrected PCIe error Linux cannot pass to AER recovery",
      "Linux drivers/acpi/apei/ghes.c ghes_handle_aer (needs Device ID and AER Info valid, bits 3 and 7)",
      ("estatus",), "linux")
def aer_no_recovery(ctx):
    """ghes_handle_aer queues AER recovery only when both the Device ID and the AER Info are valid;
    an uncorrected PCIe error without them is printed and nothing more."""
    for path, key, entry in entries(ctx):
        body = entry.get("body")
        if key != "pcie" or not isinstance(body, dict) or "data" in body:
            continue
        bits = _valid_bits(body)
        if entry.get("error_severity") in ("recoverable", "fatal") and (bits & 0x88) != 0x88:
            missing = " and ".join(n for b, n in ((0x08, "Device ID"), (0x80, "AER Info")) if not bits & b)
            yield f"{path}.body.validation_bits", (f"{kernels_text(ctx.arches)}: {missing} not valid: no AER "
                                                   f"recovery for this {entry['error_severity']} error")


@rule("LINUX.CPER.SECTION_TOO_SMALL", "warning", "section shorter than Linux decodes",
      "Linux drivers/firmware/efi/cper.c cper_estatus_print_section (\"error section length is too small\")",
      ESTATUS, "linux")
def section_too_small(ctx):
    """Linux prints a known section only when its body is at least the structure's size; a shorter
    one is reported as too small and neither decoded nor acted on."""
    from ..cper.body import section_key
    from ..render.kernel import MIN_LENGTH
    for path, b in blocks(ctx):
        for e, entry in enumerate(b.get("entries", [])):
            key = section_key(entry.get("section_type"))
            if key in MIN_LENGTH and entry.get("error_data_length", 0) < MIN_LENGTH[key]:
                yield f"{path}.entries[{e}].error_data_length", \
                    (f"{kernels_text(ctx.arches)}: {key} section of {entry['error_data_length']} bytes, "
                     f"{MIN_LENGTH[key]} needed: \"error section length is too small\"")
