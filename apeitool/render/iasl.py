"""iasl-style disassembly: the field lines ACPICA's `iasl -d` (20200925) prints for a data table.

Output is driven by the schemas: each field's iasl label is its construct docstring, its width its
construct size, and the walk order comes from the table codec. Blank lines follow iasl's rules: one
before each structure, one before the first GAS/notification block of a structure, one after each.
The result compiles back with `iasl` (its compiler rewrites the creator ID/revision, as always).
"""
from __future__ import annotations

from .. import names
from ..schemas.common import BitFlags, FixedName, NamedEnum, fields, leaf
from ..schemas.gas import Gas
from ..schemas.header import SdtHeader, checksum_byte
from ..schemas.notify import Notify
from ..tables import codec

BLOCK_TITLES = {id(Gas): "Generic Address Structure", id(Notify): "Hardware Error Notification Structure"}


def _line(offset: int, length: int, label: str) -> str:
    return f"[{offset:03X}h {offset:04d} {length:3d}] {label:>28} : "


def _flag_line(label: str) -> str:
    return f"{label:>44} : "


def _repair(raw: bytes) -> str:
    """ACPICA's AcpiUtCheckAndRepairAscii: stop at NUL, non-printables become spaces."""
    out = []
    for b in raw:
        if b == 0:
            break
        out.append(chr(b) if 0x20 <= b < 0x7F else " ")
    return "".join(out)


def _dump(out: list, table: bytes, base: int, struct) -> None:
    """AcpiDmDumpTable for one fixed-size structure at `base`."""
    last_blank = False
    pos = base
    for name, sc, label in fields(struct):
        size = sc.sizeof()
        if pos + size > len(table):
            out.append("/**** ACPI table terminates in the middle of a data structure! (dump table) */\n")
            return False
        raw = table[pos:pos + size]
        inner = leaf(sc)
        if hasattr(inner, "subcons"):
            if not last_blank:
                out.append("\n")
            out.append(_line(pos, size, label) + f"[{BLOCK_TITLES[id(inner)]}]\n")
            if not _dump(out, table, pos, inner):
                return False
            out.append("\n")
            last_blank = True
            pos += size
            continue
        value = int.from_bytes(raw, "little")
        text = _line(pos, size, label)
        if isinstance(inner, FixedName):
            shown = _repair(raw)
            if name == "signature":
                desc = names.TABLE_DESCRIPTION_IASL.get(raw.decode("latin-1"))
                text += f'"{shown}"    ' + (f"[{desc}]" if desc else "")
            else:
                text += f'"{shown}"'
        elif name == "checksum" and struct is SdtHeader:
            text += f"{value:02X}"
            right = checksum_byte(table)
            if right != value:
                text += f"     /* Incorrect checksum, should be {right:02X} */"
        elif isinstance(inner, NamedEnum) and names.iasl_name(inner.kind, value) is not None:
            text += f"{value:0{size * 2}X} [{names.iasl_name(inner.kind, value)}]"
        else:
            text += f"{value:0{size * 2}X}"
        out.append(text + "\n")
        if isinstance(inner, BitFlags) and "(decoded below)" in label:
            for flag_label, bit in inner.iasl_bits:
                out.append(_flag_line(flag_label) + f"{value >> bit & 1:X}\n")
        pos += size
    return True


def hexdump(table: bytes) -> str:
    """iasl's 'Raw Table Data' block."""
    lines = [f"Raw Table Data: Length {len(table)} (0x{len(table):X})\n", "\n"]
    for off in range(0, len(table), 16):
        chunk = table[off:off + 16]
        hexes = "".join(f"{b:02X} " for b in chunk) + "   " * (16 - len(chunk))
        ascii_ = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"    {off:04X}: {hexes} // {ascii_}\n")
    return "".join(lines)


def render(table: bytes, source_name: str = None) -> str:
    """The disassembly of one (decodable) table, as `iasl -d` writes it to its .dsl file."""
    table = bytes(table)
    sig = table[:4].decode("latin-1")
    length = int.from_bytes(table[4:8], "little")
    table = table[:length]
    out = ["/*\n",
           " * apeitool: iasl-compatible disassembly (ACPICA 20200925 layout)\n",
           f" * Input: {source_name}\n" if source_name else "",
           " *\n",
           f" * ACPI Data Table [{sig}]\n",
           " *\n",
           " * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue\n",
           " */\n",
           "\n"]
    _dump(out, table, 0, SdtHeader)
    table_codec = codec(sig)
    walk = table_codec.iasl_walk(table, lenient=True) if hasattr(table_codec, "iasl_walk") \
        else table_codec.walk(table)
    for offset, struct, path in walk:
        if struct is None and path is None:   # the table ends inside a subtable's type
            out.append("\n/**** ACPI table terminates in the middle of a data structure! (dump table) */\n")
            break
        if struct is None:   # iasl stops at a type it has no length for
            out.append(f"\n**** Unknown {sig} subtable type 0x{path:X}\n")
            break
        out.append("\n")
        if not _dump(out, table, offset, struct):
            break
    out.append("\n")
    out.append(hexdump(table))
    return "".join(out)


def field_lines(dsl_text: str):
    """The lines of a .dsl after its leading comment block: what golden comparisons look at."""
    text = dsl_text.split("*/\n", 1)[1] if "*/\n" in dsl_text else dsl_text
    return text.splitlines()
