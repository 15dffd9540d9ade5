"""CPER records (UEFI N.2.1/N.2.2) and the descriptor+body "section" form: decode and build.

A record model is {"header", "sections": [{"descriptor", "body"[, "error"]}][, "unparsed"]}.
Offsets and lengths are kept as found so lying ones round-trip; a section that lies outside its record
or whose body does not fit its layout is reported on that section and the others still decode.
Bytes no header, descriptor or section covers are kept in "unparsed" so build(decode(x)) == x.
"""
from __future__ import annotations

from typing import List, Tuple

from ..errors import DecodeError, DecodeWarning, SpecError
from ..schemas.cper import (RECORD_HEADER, RECORD_HEADER_DEFAULTS, SECTION_DESCRIPTOR,
                            SECTION_DESCRIPTOR_DEFAULTS)
from ..schemas.cper_fields import hex_bytes
from ..schemas.values import check_keys, parse_int
from .body import build_body, decode_body

HEADER_SIZE = RECORD_HEADER.size        # 128
DESCRIPTOR_SIZE = SECTION_DESCRIPTOR.size  # 72
MAX_BUILD = 16 << 20   # no record or block is near this; a spec asking for more is a mistake


def buffer_size(end: int, field: str) -> int:
    """The size a built record/block/section will have, refused past MAX_BUILD (a spec with an
    offset or length of 4 GiB must not make us allocate 4 GiB)."""
    if end > MAX_BUILD:
        raise SpecError(f"the offsets and lengths given make a {end}-byte item; "
                        f"more than {MAX_BUILD} bytes is refused", field=field)
    return end


def mapping(value, path: str) -> dict:
    """A copy of a spec mapping (None is an empty one); anything else is a SpecError."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"expected a mapping, got {type(value).__name__}", field=path)
    return dict(value)


def decode_record(data: bytes, offset: int = 0, path: str = "records[0]"
                  ) -> Tuple[dict, List[DecodeWarning], int]:
    """Decode the record at `offset`; returns (model, warnings, record length)."""
    header = RECORD_HEADER.parse(data, offset, f"{path}.header", "CPER record header")
    warnings: List[DecodeWarning] = []
    if header["signature"] != "CPER":
        raise DecodeError(f"not a CPER record: signature is {header['signature']!r}, not 'CPER'",
                          offset=offset, field=f"{path}.header.signature")
    if header["signature_end"] != 0xFFFFFFFF:
        warnings.append(DecodeWarning(f"signature_end is {header['signature_end']:#010x}, not "
                                      f"0xffffffff", offset + 6, f"{path}.header.signature_end"))
    length = header["record_length"]
    count = header["section_count"]
    avail = len(data) - offset
    if length < HEADER_SIZE:
        raise DecodeError(f"record_length {length} is shorter than the 128-byte header",
                          offset=offset + 20, field=f"{path}.header.record_length")
    if length > avail:
        raise DecodeError(f"record_length says {length} bytes but only {avail} remain",
                          offset=offset + 20, field=f"{path}.header.record_length")
    if HEADER_SIZE + count * DESCRIPTOR_SIZE > length:
        raise DecodeError(f"section_count {count} needs {count * DESCRIPTOR_SIZE} bytes of descriptors "
                          f"but the record has {length - HEADER_SIZE} after its header",
                          offset=offset + 10, field=f"{path}.header.section_count")
    if count == 0:
        warnings.append(DecodeWarning("section_count is 0", offset + 10, f"{path}.header.section_count"))
    record = data[offset:offset + length]
    sections, covered = _decode_sections(record, HEADER_SIZE, count, offset, path, warnings)
    covered.append((0, HEADER_SIZE + count * DESCRIPTOR_SIZE))
    model = {"header": header, "sections": sections}
    unparsed = _gaps(record, covered)
    if unparsed:
        model["unparsed"] = unparsed
    return model, warnings, length


def _decode_sections(record: bytes, first: int, count: int, base: int, path: str,
                     warnings: List[DecodeWarning]):
    sections, covered = [], []
    end = len(record)
    for i in range(count):
        spath = f"{path}.sections[{i}]"
        dpos = first + i * DESCRIPTOR_SIZE
        desc = SECTION_DESCRIPTOR.parse(record, dpos, f"{spath}.descriptor")
        entry = {"descriptor": desc}
        off, size = desc["section_offset"], desc["section_length"]
        if off + size > end:
            msg = (f"section_offset 0x{off:X} + section_length {size} lies outside the "
                   f"{end}-byte record")
            entry["error"] = msg
            warnings.append(DecodeWarning(msg, base + dpos, f"{spath}.descriptor.section_offset"))
            entry["body"] = None
        else:
            if off < first + count * DESCRIPTOR_SIZE and size:
                warnings.append(DecodeWarning(f"section body at 0x{off:X} overlaps the record header "
                                              f"or descriptors", base + dpos,
                                              f"{spath}.descriptor.section_offset"))
            body, err = decode_body(desc["section_type"], record[off:off + size], base + off,
                                    f"{spath}.body")
            entry["body"] = body
            covered.append((off, off + size))
            if err is not None:
                entry["error"] = err.message
                warnings.append(DecodeWarning(err.message, err.offset, err.field))
        sections.append(entry)
    return sections, covered


def _gaps(record: bytes, covered) -> list:
    """Byte ranges of `record` outside every covered range, as [{"offset", "data"}]."""
    out, pos = [], 0
    for start, stop in sorted(covered):
        if start > pos:
            out.append({"offset": pos, "data": record[pos:start].hex()})
        pos = max(pos, stop)
    if pos < len(record):
        out.append({"offset": pos, "data": record[pos:].hex()})
    return out


def _check_keys(obj, allowed, path):
    if not isinstance(obj, dict):
        raise SpecError(f"expected a mapping, got {type(obj).__name__}", field=path)
    check_keys(obj, allowed, path)


def _layout_sections(sections, first: int, path: str):
    """Build each section's body and fill omitted descriptor offsets/lengths; returns
    [(descriptor dict, body bytes or None)] and the end of the last body."""
    if not isinstance(sections, list):
        raise SpecError("expected a list of sections", field=f"{path}.sections")
    out = []
    nxt = first
    for i, sec in enumerate(sections):
        spath = f"{path}.sections[{i}]"
        _check_keys(sec, ("descriptor", "body", "error"), spath)
        desc = mapping(sec.get("descriptor"), f"{spath}.descriptor")
        if "section_type" not in desc:
            raise SpecError("missing required field", field=f"{spath}.descriptor.section_type")
        body = sec.get("body")
        raw = None if body is None else build_body(desc["section_type"], body, f"{spath}.body")
        for k, v in SECTION_DESCRIPTOR_DEFAULTS.items():
            desc.setdefault(k, v)
        if raw is not None:
            desc.setdefault("section_offset", nxt)
            desc.setdefault("section_length", len(raw))
        try:
            off = parse_int(desc.get("section_offset", nxt))
        except ValueError as e:
            raise SpecError(str(e), field=f"{spath}.descriptor.section_offset") from None
        if off < 0:
            raise SpecError("an offset cannot be negative", field=f"{spath}.descriptor.section_offset")
        if raw is not None:
            nxt = max(nxt, buffer_size(off + len(raw), f"{spath}.descriptor.section_offset"))
        out.append((desc, raw, off))
    return out, nxt


def build_record(model: dict, path: str = "record") -> bytes:
    _check_keys(model, ("header", "sections", "unparsed"), path)
    header = mapping(model.get("header"), f"{path}.header")
    sections = model.get("sections") or []
    count = len(sections) if isinstance(sections, list) else 0
    first = HEADER_SIZE + count * DESCRIPTOR_SIZE
    laid, end = _layout_sections(sections, first, path)
    unparsed = _unparsed(model.get("unparsed"), path)
    for off, chunk in unparsed:
        end = max(end, off + len(chunk))
    for k, v in RECORD_HEADER_DEFAULTS.items():
        header.setdefault(k, v)
    header.setdefault("section_count", count)
    header.setdefault("record_length", end)
    if "error_severity" not in header:
        header["error_severity"] = _worst(d for d, _r, _o in laid)
    head = RECORD_HEADER.build(header, f"{path}.header")
    length = RECORD_HEADER.decode(RECORD_HEADER.struct.unpack(head))["record_length"]
    buf = bytearray(buffer_size(max(length, end), f"{path}.header.record_length"))
    buf[:HEADER_SIZE] = head
    for i, (desc, raw, off) in enumerate(laid):
        dpos = HEADER_SIZE + i * DESCRIPTOR_SIZE
        buf[dpos:dpos + DESCRIPTOR_SIZE] = SECTION_DESCRIPTOR.build(desc, f"{path}.sections[{i}].descriptor")
        if raw is not None:
            buf[off:off + len(raw)] = raw
    for off, chunk in unparsed:
        buf[off:off + len(chunk)] = chunk
    return bytes(buf[:length]) if length >= end else bytes(buf)


_SEVERITY_RANK = {"fatal": 3, 1: 3, "recoverable": 2, 0: 2, "corrected": 1, 2: 1}


def _worst(descs) -> str:
    """A record's severity defaults to the worst of its sections' (fatal > recoverable > corrected)."""
    best, rank = "informational", 0
    default = SECTION_DESCRIPTOR.default()["section_severity"]   # what an omitted severity builds as
    for d in descs:
        sev = d.get("section_severity", default)
        r = _SEVERITY_RANK.get(sev, 0) if isinstance(sev, (str, int)) else 0   # the descriptor build says what is wrong
        if r > rank:
            best, rank = sev, r
    return best


def _unparsed(value, path):
    out = []
    for i, chunk in enumerate(value or []):
        _check_keys(chunk, ("offset", "data"), f"{path}.unparsed[{i}]")
        try:
            off = parse_int(chunk.get("offset", 0))
        except ValueError as e:
            raise SpecError(str(e), field=f"{path}.unparsed[{i}].offset") from None
        if not 0 <= off <= MAX_BUILD:
            raise SpecError(f"offset {off} is outside 0..{MAX_BUILD}", field=f"{path}.unparsed[{i}].offset")
        out.append((off, hex_bytes(chunk.get("data", ""), f"{path}.unparsed[{i}].data")))
    return out


# -- the section form: descriptor + body, no record header (libcper's "single section") --------

def decode_section_form(data: bytes, offset: int = 0, path: str = "sections[0]"
                        ) -> Tuple[dict, List[DecodeWarning], int]:
    warnings: List[DecodeWarning] = []
    head = SECTION_DESCRIPTOR.parse(data, offset, f"{path}.descriptor")
    # only this section's bytes: slicing the whole rest for every section would be quadratic
    avail = data[offset:offset + max(DESCRIPTOR_SIZE, head["section_offset"] + head["section_length"])]
    sections, covered = _decode_sections(avail, 0, 1, offset, path, warnings)
    model = dict(sections[0])
    model["descriptor"] = sections[0]["descriptor"]
    covered.append((0, DESCRIPTOR_SIZE))
    end = max(stop for _s, stop in covered)
    unparsed = _gaps(avail[:end], covered)
    if unparsed:
        model["unparsed"] = unparsed
    return model, warnings, end


def build_section_form(model: dict, path: str = "section") -> bytes:
    _check_keys(model, ("descriptor", "body", "error", "unparsed"), path)
    laid, end = _layout_sections([{k: v for k, v in model.items() if k != "unparsed"}],
                                 DESCRIPTOR_SIZE, path)
    unparsed = _unparsed(model.get("unparsed"), path)
    for off, chunk in unparsed:
        end = max(end, off + len(chunk))
    desc, raw, off = laid[0]
    buf = bytearray(buffer_size(end, f"{path}.descriptor.section_offset"))
    buf[:DESCRIPTOR_SIZE] = SECTION_DESCRIPTOR.build(desc, f"{path}.descriptor")
    if raw is not None:
        buf[off:off + len(raw)] = raw
    for o, chunk in unparsed:
        buf[o:o + len(chunk)] = chunk
    return bytes(buf)
