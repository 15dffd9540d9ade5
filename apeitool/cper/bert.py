"""The boot error region as Linux's drivers/acpi/apei/bert.c walks it (v6.17): its checks, its
messages, its limits (5 records printed, each under 1024 bytes), and where it stops."""
from __future__ import annotations

from typing import List, Tuple

from ..schemas.cper import ERROR_STATUS_BLOCK
from .estatus import BLOCK_HEADER, decode_block, estatus_check, estatus_len

PRINT_MAX_RECORDS = 5
PRINT_MAX_LEN = 1024


def walk_region(region: bytes, region_length: int, arch: str = "arm64",
                version=None) -> Tuple[List[str], List[dict]]:
    """(kernel log lines, decoded blocks) for a boot error region of `region_length` bytes."""
    from ..render.kernel import render_block
    lines: List[str] = []
    blocks: List[dict] = []
    if region_length < BLOCK_HEADER:
        return ["BERT: [Firmware Bug]: table invalid."], blocks
    region = region[:region_length]
    remain, pos, printed, skipped, total = min(region_length, len(region)), 0, 0, 0, 0
    while remain >= BLOCK_HEADER:
        hdr = ERROR_STATUS_BLOCK.parse(region, pos)
        length = estatus_len(hdr)
        if remain < length:
            lines.append(f"BERT: [Firmware Bug]: Truncated status block (length: {length}).")
            break
        if not ERROR_STATUS_BLOCK.field_int("block_status", hdr["block_status"]):
            break
        if not estatus_check(region, pos):
            lines.append("BERT: [Firmware Bug]: Invalid error record.")
            break
        block, _warnings, _len = decode_block(region, pos, f"region.blocks[{total}]")
        blocks.append(block)
        if length < PRINT_MAX_LEN and printed < PRINT_MAX_RECORDS:
            if not printed:
                lines.append("BERT: Error records from previous boot:")
            lines += render_block(block, source_id=None, seq=None, arch=arch, version=version)
            printed += 1
        else:
            skipped += 1
        total += 1
        pos += length
        remain -= length
    if skipped:
        lines.append(f"BERT: [Hardware Error]: Skipped {skipped} error records")
    if total:
        lines.append(f"BERT: Total records found: {total}")
    return lines, blocks
