"""ACPI Generic Error Status Blocks (what GHES sources and the BERT region hold): decode and build.

A block model is {block_status, raw_data_offset, raw_data_length, data_length, error_severity,
"entries": [{<Generic Error Data Entry fields>, "body"[, "error"]}], "raw_data"[, "unparsed"]}.
Entries are walked the way Linux does (apei/ghes.h, cper_estatus_check): from offset 20 while inside
data_length, each entry 64 bytes (72 from revision 0x300) plus error_data_length.
"""
from __future__ import annotations

from typing import List, Tuple

from ..errors import DecodeError, DecodeWarning, SpecError
from ..schemas.cper import DATA_ENTRY, DATA_ENTRY_DEFAULT_REVISION, DATA_ENTRY_V300, ERROR_STATUS_BLOCK
from ..schemas.cper_fields import hex_bytes
from ..schemas.values import parse_int
from .body import build_body, decode_body
from .record import _check_keys, _gaps, _unparsed, _worst, buffer_size

BLOCK_HEADER = ERROR_STATUS_BLOCK.size  # 20


def entry_layout(revision: int):
    return DATA_ENTRY_V300 if revision >> 8 >= 3 else DATA_ENTRY


def estatus_len(hdr: dict) -> int:
    """cper_estatus_len: raw data end when there is raw data, else header + data_length."""
    if hdr["raw_data_length"]:
        return hdr["raw_data_offset"] + hdr["raw_data_length"]
    return BLOCK_HEADER + hdr["data_length"]


def decode_block(data: bytes, offset: int = 0, path: str = "blocks[0]"
                 ) -> Tuple[dict, List[DecodeWarning], int]:
    """Decode the status block at `offset`; returns (model, warnings, block length)."""
    hdr = ERROR_STATUS_BLOCK.parse(data, offset, path, "generic error status block")
    warnings: List[DecodeWarning] = []
    avail = len(data) - offset
    dlen = hdr["data_length"]
    if BLOCK_HEADER + dlen > avail:
        raise DecodeError(f"data_length says {dlen} bytes of entries but {avail - BLOCK_HEADER} remain",
                          offset=offset + 12, field=f"{path}.data_length")
    roff, rlen = hdr["raw_data_offset"], hdr["raw_data_length"]
    if rlen and roff + rlen > avail:
        raise DecodeError(f"raw data (offset 0x{roff:X}, {rlen} bytes) runs past the {avail} bytes "
                          f"present", offset=offset + 4, field=f"{path}.raw_data_offset")
    if rlen and roff < BLOCK_HEADER + dlen:
        warnings.append(DecodeWarning(f"raw_data_offset 0x{roff:X} lies inside the data entries "
                                      f"(they end at 0x{BLOCK_HEADER + dlen:X}); Linux rejects the "
                                      f"block", offset + 4, f"{path}.raw_data_offset"))
    length = max(estatus_len(hdr), BLOCK_HEADER + dlen)
    block = data[offset:offset + length]
    entries = []
    pos = BLOCK_HEADER
    stop = BLOCK_HEADER + dlen
    i = 0
    while pos < stop:
        epath = f"{path}.entries[{i}]"
        if stop - pos < DATA_ENTRY.size:
            raise DecodeError(f"{stop - pos} bytes left in data_length, too few for a 64-byte data "
                              f"entry", offset=offset + pos, field=f"{path}.data_length")
        rev = int.from_bytes(block[pos + 20:pos + 22], "little")
        layout = entry_layout(rev)
        if stop - pos < layout.size:
            raise DecodeError(f"{stop - pos} bytes left in data_length, too few for a "
                              f"{layout.size}-byte data entry", offset=offset + pos,
                              field=f"{path}.data_length")
        entry = layout.parse(block, pos, epath)
        body_at = pos + layout.size
        elen = entry["error_data_length"]
        if elen > stop - body_at:
            raise DecodeError(f"error_data_length {elen} runs past data_length (entry ends at "
                              f"0x{body_at + elen:X}, entries end at 0x{stop:X})",
                              offset=offset + pos + 24, field=f"{epath}.error_data_length")
        body, err = decode_body(entry["section_type"], block[body_at:body_at + elen],
                                offset + body_at, f"{epath}.body")
        entry["body"] = body
        if err is not None:
            entry["error"] = err.message
            warnings.append(DecodeWarning(err.message, err.offset, err.field))
        entries.append(entry)
        pos = body_at + elen
        i += 1
    count = hdr["block_status"]["entry_count"]
    if count and count != len(entries):  # many firmwares (QEMU too) leave the count 0
        warnings.append(DecodeWarning(f"block_status.entry_count is {count} but {len(entries)} data "
                                      f"entries are present", offset, f"{path}.block_status.entry_count"))
    model = dict(hdr)
    model["entries"] = entries
    covered = [(0, stop)]
    if rlen:
        model["raw_data"] = block[roff:roff + rlen].hex()
        covered.append((roff, roff + rlen))
    unparsed = _gaps(block, covered)
    if unparsed:
        model["unparsed"] = unparsed
    return model, warnings, length


_ENTRY_KEYS = [n for n in DATA_ENTRY_V300.names] + ["body", "error"]


def build_block(model: dict, path: str = "block") -> bytes:
    _check_keys(model, ERROR_STATUS_BLOCK.names + ["entries", "raw_data", "unparsed"], path)
    entries = model.get("entries") or []
    if not isinstance(entries, list):
        raise SpecError("expected a list of entries", field=f"{path}.entries")
    data = bytearray()
    sevs = []
    for i, e in enumerate(entries):
        epath = f"{path}.entries[{i}]"
        _check_keys(e, _ENTRY_KEYS, epath)
        e = dict(e)
        if "section_type" not in e:
            raise SpecError("missing required field", field=f"{epath}.section_type")
        body = e.pop("body", None)
        e.pop("error", None)
        raw = b"" if body is None else build_body(e["section_type"], body, f"{epath}.body")
        e.setdefault("revision", DATA_ENTRY_DEFAULT_REVISION)
        e.setdefault("error_data_length", len(raw))
        e.setdefault("error_severity", "recoverable")
        try:
            rev = parse_int(e["revision"])
        except ValueError as err:
            raise SpecError(str(err), field=f"{epath}.revision") from None
        layout = entry_layout(rev)
        if layout is DATA_ENTRY and e.get("timestamp") not in (None, 0):
            raise SpecError("a timestamp needs revision 0x300 or later", field=f"{epath}.timestamp")
        if layout is DATA_ENTRY:
            e.pop("timestamp", None)
        sevs.append({"section_severity": e["error_severity"]})
        data += layout.build(e, epath) + raw
    raw_data = hex_bytes(model.get("raw_data") or "", f"{path}.raw_data")
    hdr = {k: model[k] for k in ERROR_STATUS_BLOCK.names if model.get(k) is not None}
    hdr.setdefault("data_length", len(data))
    hdr.setdefault("raw_data_length", len(raw_data))
    hdr.setdefault("raw_data_offset", BLOCK_HEADER + len(data) if raw_data else 0)
    if "error_severity" not in hdr:
        hdr["error_severity"] = _worst(sevs) if sevs else "recoverable"
    if "block_status" not in hdr:
        hdr["block_status"] = _derived_status(hdr["error_severity"], len(entries))
    head = ERROR_STATUS_BLOCK.build(hdr, path)
    fields = ERROR_STATUS_BLOCK.decode(ERROR_STATUS_BLOCK.struct.unpack(head))
    end = BLOCK_HEADER + len(data)
    if raw_data:
        end = max(end, fields["raw_data_offset"] + len(raw_data))
    unparsed = _unparsed(model.get("unparsed"), path)
    for off, chunk in unparsed:
        end = max(end, off + len(chunk))
    buf = bytearray(buffer_size(end, f"{path}.raw_data_offset"))
    buf[:BLOCK_HEADER] = head
    buf[BLOCK_HEADER:BLOCK_HEADER + len(data)] = data
    if raw_data:
        ro = fields["raw_data_offset"]
        buf[ro:ro + len(raw_data)] = raw_data
    for off, chunk in unparsed:
        buf[off:off + len(chunk)] = chunk
    return bytes(buf)


def _derived_status(severity, count: int) -> dict:
    """block_status for a built block: the kind of error its severity says, and the entry count."""
    corrected = severity in ("corrected", "informational", 2, 3)
    return {"uncorrectable": not corrected, "correctable": corrected, "entry_count": min(count, 1023)}


def estatus_check(data: bytes, offset: int = 0) -> bool:
    """cper_estatus_check (Linux v6.17): header lengths, then each entry must fit what is left of
    data_length, which must be used up exactly."""
    if len(data) - offset < BLOCK_HEADER:
        return False
    hdr = ERROR_STATUS_BLOCK.parse(data, offset)
    dlen, rlen, roff = hdr["data_length"], hdr["raw_data_length"], hdr["raw_data_offset"]
    if dlen and dlen < DATA_ENTRY.size or rlen and roff < BLOCK_HEADER + dlen:
        return False
    remaining, pos = dlen, offset + BLOCK_HEADER
    while remaining > 0:
        if pos + 24 > len(data):
            return False
        rev = int.from_bytes(data[pos + 20:pos + 22], "little")
        size = entry_layout(rev).size
        if size > remaining:
            return False
        record = size + int.from_bytes(data[pos + 24:pos + 28], "little")
        if record > remaining:
            return False
        remaining -= record
        pos += record
    return True
