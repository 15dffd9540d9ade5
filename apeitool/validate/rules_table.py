"""Rules for every ACPI table: header, checksum, structure, and the Generic Address Structures."""
from __future__ import annotations

from ..schemas.common import show_name
from .engine import enum_int, rule

TABLES = ("hest", "bert", "einj", "erst")
GAS_TABLES = ("hest", "einj", "erst")
# ACPI revisions a validator must accept: fwts expects 2 for HEST/EINJ with ACPI 6.5/6.6, edk2 still 1
EXPECTED_REVISIONS = {"hest": (1, 2), "einj": (1, 2), "bert": (1,), "erst": (1,)}
NAME_FIELDS = [("header.signature", 0, 4), ("header.oem_id", 10, 6), ("header.oem_table_id", 16, 8),
               ("header.creator_id", 28, 4)]


@rule("TABLE.STRUCTURE", "error", "the table's structures cannot be walked to the end",
      "ACPI 6.5 §18.3 (structure lengths); fwts HESTTooShort, HESTInvalidType, HEST*TooShort, "
      "ERSTHeaderSizeTooLong, ERSTTooManyEntries", TABLES + ("cper", "estatus"))
def structure(ctx):
    """A structure runs past Table Length, a type has no defined length, or a count/length lies:
    nothing after that point can be read (iasl stops there too; Linux walks Error Source Count
    entries and fails where they run out, LINUX.HEST.COUNT_OVERFLOW). The other rules then only
    see the table header."""
    e = ctx.structure_error
    if e is not None:
        yield e.field or "", e.message, e.offset


@rule("TABLE.CHECKSUM", "error", "table checksum is wrong", "ACPI 6.5 §5.2.6; fwts ACPITableChecksum",
      TABLES)
def checksum(ctx):
    """All bytes of the table (Table Length of them) must sum to zero mod 256."""
    length = int.from_bytes(ctx.data[4:8], "little")
    table = ctx.data[:length]
    # a Table Length inside the checksum byte's own header cannot be summed (TABLE.STRUCTURE says so)
    if length > 9 and len(table) == length and sum(table) & 0xFF:
        right = (table[9] - sum(table)) & 0xFF
        yield "header.checksum", f"checksum 0x{table[9]:02X} is wrong, should be 0x{right:02X}"


@rule("TABLE.TRAILING_BYTES", "warning", "bytes after Table Length",
      "ACPI 6.5 §5.2.6 (Length); iasl loops on such input", TABLES)
def trailing(ctx):
    """The input holds more bytes than Table Length says; they are not part of the table (a table
    cut from a larger dump, or a Length that is too small)."""
    for w in ctx.warned("header.length"):
        yield "header.length", w.message


@rule("TABLE.HEADER_ONLY", "warning", "the table is only a header", "fwts acpitables (header-only table)",
      TABLES)
def header_only(ctx):
    """Table Length 36: the table has no body at all."""
    if int.from_bytes(ctx.data[4:8], "little") == 36:
        yield "header.length", "Table Length is 36: the table is a header with no body"


@rule("TABLE.REVISION", "warning", "unexpected table revision",
      "ACPI 6.5 §18.3 (table revisions); fwts ACPITableBadRevision", TABLES)
def revision(ctx):
    """HEST and EINJ are revision 1 (ACPI up to 6.4) or 2 (6.5+, per fwts); BERT and ERST are 1."""
    rev = ctx.data[8]
    allowed = EXPECTED_REVISIONS[ctx.kind]
    if rev not in allowed:
        yield "header.revision", (f"revision {rev}; {ctx.kind.upper()} is revision "
                                  f"{' or '.join(map(str, allowed))}")


@rule("TABLE.NAME_NON_ASCII", "info", "non-ASCII byte in a header name",
      "ACPI 6.5 §5.2.6; fwts ACPITableHdrInfo", TABLES)
def name_non_ascii(ctx):
    """Signature, OEM ID, OEM Table ID and Creator ID are ASCII. NUL padding is reported by
    TABLE.NAME_NUL_PADDED."""
    for path, off, size in NAME_FIELDS:
        raw = ctx.data[off:off + size].rstrip(b"\0")
        bad = [b for b in raw if b < 0x20 or b > 0x7E]
        if bad:
            yield path, f"{path.split('.')[1]} \"{show_name(raw)}\" has non-printable byte 0x{bad[0]:02X}"


@rule("TABLE.NAME_EMPTY", "info", "header name is all NUL",
      "ACPI 6.5 §5.2.6 (OEM ID, OEM Table ID, Creator ID identify the table's maker)", TABLES)
def name_empty(ctx):
    """An all-NUL OEM ID, OEM Table ID or Creator ID names nobody: tools that match tables by these
    ids (kernel quirk lists, fwts, acpidump -n) cannot tell such tables apart."""
    for path, off, size in NAME_FIELDS[1:]:
        raw = ctx.data[off:off + size]
        if len(raw) == size and not any(raw):
            yield path, f"{path.split('.')[1]} is {size} NUL bytes"


@rule("TABLE.NAME_NUL_PADDED", "info", "header name padded with NUL instead of spaces",
      "ACPI 6.5 §5.2.6; real-tables survey #12 (AMI, HP, HONOR firmware)", TABLES)
def name_nul_padded(ctx):
    """OEM IDs are space padded by convention; many firmwares pad with NUL ('AMI\\0\\0\\0'). Harmless,
    but tools that compare IDs as fixed strings disagree about them."""
    for path, off, size in NAME_FIELDS[1:]:
        raw = ctx.data[off:off + size]
        if b"\0" in raw.rstrip(b"\0") or raw.endswith(b"\0") and raw.strip(b"\0"):
            yield path, f"{path.split('.')[1]} \"{show_name(raw)}\" is padded with NUL"


# -- Generic Address Structures ---------------------------------------------------------------------

# instructions that access their register (Linux apei_exec ins_table APEI_EXEC_INS_ACCESS_REGISTER):
# read/write register(_value); ERST also LOAD_VAR1/2, STORE_VAR1, ADD/SUBTRACT_VALUE, STALL_WHILE_TRUE,
# SKIP_NEXT_INSTRUCTION_IF_TRUE, SET_SRC/DST_ADDRESS_BASE, MOVE_DATA. NOOP, ADD, STALL, GOTO take none.
REGISTER_INSTRUCTIONS = {"einj": {0, 1, 2, 3},
                         "erst": {0, 1, 2, 3, 5, 6, 7, 0x0A, 0x0B, 0x0D, 0x0E, 0x10, 0x11, 0x12}}


def gas_items(ctx, linux_only: bool = False):
    """(path, gas model, what) for each register a kernel would access: GHES status address and
    GHESv2 read-ack of enabled sources; EINJ/ERST entries whose instruction touches a register."""
    m = ctx.model or {}
    if ctx.kind == "hest":
        for i, s in enumerate(m.get("sources", [])):
            if enum_int("hest_type", s.get("type")) not in (9, 10):
                continue
            if linux_only and i >= m.get("error_source_count", 0):
                continue   # past Error Source Count: Linux never reads it
            yield f"sources[{i}].error_status_address", s["error_status_address"], "Error Status Address", s
            if "read_ack_register" in s:
                yield f"sources[{i}].read_ack_register", s["read_ack_register"], "Read Ack Register", s
    elif ctx.kind in ("einj", "erst"):
        kind = f"{ctx.kind}_instruction"
        for i, e in enumerate(m.get("entries", [])):
            if enum_int(kind, e.get("instruction")) in REGISTER_INSTRUCTIONS[ctx.kind]:
                yield f"entries[{i}].register_region", e["register_region"], "Register Region", e


def access_bits(gas) -> int:
    code = enum_int("access_size", gas["access_size"]) or 0
    return 1 << (code + 2) if 1 <= code <= 4 else 0


@rule("ACPI.GAS.WIDTH_EXCEEDS_ACCESS", "warning", "register bit width exceeds its access size",
      "ACPI 6.5 §5.2.3.2 (GAS); real-tables survey #4 (32-bit width with Byte access)", GAS_TABLES)
def gas_width(ctx):
    """Register Bit Width + Bit Offset larger than the Access Size: the register cannot be read in
    one access of that size. Linux fixes up the common case (width 32/64, offset 0, aligned address)
    by widening the access; other OSes may not."""
    for path, gas, what, _owner in gas_items(ctx):
        bits = access_bits(gas)
        if bits and gas["bit_width"] + gas["bit_offset"] > bits:
            yield f"{path}.bit_width", (f"{what}: bit width {gas['bit_width']} + offset "
                                        f"{gas['bit_offset']} exceeds the {bits}-bit access size")


@rule("ACPI.GAS.UNALIGNED", "info", "register address not aligned to its access size",
      "ACPI 6.5 §5.2.3.2 (GAS)", GAS_TABLES)
def gas_unaligned(ctx):
    """A register whose address is not a multiple of its access size needs split or unaligned
    accesses; some platforms fault on them."""
    for path, gas, what, _owner in gas_items(ctx):
        bits = access_bits(gas)
        if bits and enum_int("gas_space", gas["space_id"]) == 0 and gas["address"] % (bits // 8):
            yield f"{path}.address", f"{what}: address 0x{gas['address']:X} is not {bits // 8}-byte aligned"


def _enabled(owner) -> bool:
    return "enabled" not in owner or owner.get("enabled") != 0


def gar_error(gas: dict):
    """apei_check_gar (drivers/acpi/apei/apei-base.c), in its order: None when Linux accepts the
    register, else (check name, field, the kernel's message)."""
    addr, width, offset = gas["address"], gas["bit_width"], gas["bit_offset"]
    code = enum_int("access_size", gas["access_size"])
    if not addr:
        return "ADDRESS_ZERO", "address", "Invalid physical address in GAR"
    if code is None or not 1 <= code <= 4:
        return "ACCESS_SIZE", "access_size", "Invalid access size code in GAR"
    bits = 1 << (code + 2)
    if width == 32 and offset == 0 and addr & 3 == 0 and bits < 32:
        bits = 32   # the kernel's "fixup common BIOS bug"
    elif width == 64 and offset == 0 and addr & 7 == 0 and bits < 64:
        bits = 64
    if width + offset > bits:
        return "BIT_WIDTH", "bit_width", "Invalid bit width + offset in GAR"
    if enum_int("gas_space", gas["space_id"]) not in (0, 1):
        return "SPACE", "space_id", "Invalid address space type in GAR"
    return None


def gar_message(gas: dict, text: str) -> str:
    """The kernel's line for a rejected register, numbers as apei_check_gar prints them
    ("[Firmware Bug]: APEI: Invalid physical address in GAR [0x0/64/0/4/0]")."""
    return (f"[Firmware Bug]: APEI: {text} [0x{gas['address']:x}/{gas['bit_width']}/{gas['bit_offset']}/"
            f"{enum_int('access_size', gas['access_size'])}/{enum_int('gas_space', gas['space_id'])}]")


# what the kernel does after apei_exec_collect_resources fails on a table's first bad register
_COLLECT_FAILS = {"einj": "Linux stops collecting resources here (\"EINJ: Error collecting EINJ "
                          "resources.\"): error injection is disabled",
                  "erst": "Linux stops collecting resources here: ERST is disabled (no pstore, no "
                          "error record persistence)"}


def _gar_checks(ctx):
    """(check name, path, message) for each register Linux would reject. A GHES is probed on its
    own; EINJ/ERST resources are collected in entry order and the first bad register ends it."""
    for path, gas, what, owner in gas_items(ctx, linux_only=True):
        if ctx.kind == "hest" and not _enabled(owner):
            continue   # Linux never maps a disabled source's registers
        err = gar_error(gas)
        if err:
            name, field, text = err
            value = gas[field] if field != "address" else f"0x{gas['address']:X}"
            consequence = _COLLECT_FAILS.get(ctx.kind, "the source is not registered")
            yield name, f"{path}.{field}", (f"{what}: {field.replace('_', ' ')} {value}: "
                                            f"\"{gar_message(gas, text)}\"; {consequence}")
            if ctx.kind in _COLLECT_FAILS:
                return


def _gar_rule(which: str, title: str, doc: str):
    @rule(f"LINUX.GAS.{which}", "error", title, "Linux drivers/acpi/apei/apei-base.c apei_check_gar",
          GAS_TABLES, "linux")
    def check(ctx):
        for name, path, message in _gar_checks(ctx):
            if name == which:
                yield path, message
    check.__doc__ = doc
    from .engine import RULES
    RULES[f"LINUX.GAS.{which}"].doc = doc
    return check


_gar_rule("ADDRESS_ZERO", "register address is 0",
          "Linux refuses to map a register at address 0: a GHES with such a status address is not "
          "registered; an EINJ/ERST instruction with it fails (the kernel warns when collecting "
          "resources). Disabled HEST sources and NOOP instructions are not checked.")
_gar_rule("ACCESS_SIZE", "register access size is undefined",
          "Access Size must be 1..4 (byte..qword) for Linux to access the register.")
_gar_rule("BIT_WIDTH", "register bit width does not fit its access",
          "Bit Width + Bit Offset larger than the access width, after the kernel's fix-up for "
          "32/64-bit registers at offset 0 with aligned addresses: the register is rejected.")
_gar_rule("SPACE", "register not in system memory or I/O space",
          "Linux APEI accesses only System Memory and System I/O registers.")
