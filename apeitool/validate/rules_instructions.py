"""BERT, EINJ and ERST rules: ACPI 6.5 §18.3.1, §18.6, §18.5, fwts's bert/einj/erst tests (without
fwts's EINJ entry-offset bug), the real-tables survey and Linux's erst.c."""
from __future__ import annotations

from .engine import enum_int, kernels_text, rule

INJECTION_ACTIONS_V1 = set(range(0x0A)) | {0xFF}
INJECTION_ACTIONS_V2 = INJECTION_ACTIONS_V1 | {0x10, 0x11}
EINJ_REQUIRED = {0: "BEGIN_INJECTION_OPERATION", 1: "GET_TRIGGER_ERROR_ACTION_TABLE", 2: "SET_ERROR_TYPE",
                 3: "GET_ERROR_TYPE", 4: "END_OPERATION", 5: "EXECUTE_OPERATION", 6: "CHECK_BUSY_STATUS",
                 7: "GET_COMMAND_STATUS"}
ERST_REQUIRED = {0: "BEGIN_WRITE_OPERATION", 1: "BEGIN_READ_OPERATION", 2: "BEGIN_CLEAR_OPERATION",
                 3: "END_OPERATION", 4: "SET_RECORD_OFFSET", 5: "EXECUTE_OPERATION", 6: "CHECK_BUSY_STATUS",
                 7: "GET_COMMAND_STATUS", 8: "GET_RECORD_IDENTIFIER", 9: "SET_RECORD_IDENTIFIER",
                 0x0A: "GET_RECORD_COUNT", 0x0B: "BEGIN_DUMMY_WRITE_OPERATION",
                 0x0D: "GET_ERROR_LOG_ADDRESS_RANGE", 0x0E: "GET_ERROR_LOG_ADDRESS_RANGE_LENGTH",
                 0x0F: "GET_ERROR_LOG_ADDRESS_RANGE_ATTRIBUTES"}
WRITE_INSTRUCTIONS = (2, 3)


# -- BERT -------------------------------------------------------------------------------------------

@rule("BERT.REGION_EMPTY", "warning", "empty boot error region", "ACPI 6.5 §18.3.1; real-tables survey §4",
      ("bert",))
def bert_empty(ctx):
    """Boot Error Region Length 0 or address 0: the BERT points to no region, so the OS can report
    no boot errors (and Linux's bert.c logs nothing)."""
    m = ctx.model
    if m and (m["boot_error_region_length"] == 0 or m["boot_error_region_address"] == 0):
        field = "boot_error_region_length" if m["boot_error_region_length"] == 0 else "boot_error_region_address"
        yield field, (f"Boot Error Region length {m['boot_error_region_length']} at "
                      f"0x{m['boot_error_region_address']:X}: no region")


@rule("BERT.REGION_TOO_SHORT", "error", "boot error region shorter than a status block header",
      "ACPI 6.5 §18.3.1; fwts BERTBootErrorRegionDataLength", ("bert",))
def bert_short(ctx):
    """A region of 1..19 bytes cannot hold the 20-byte Generic Error Status Block header."""
    m = ctx.model
    if m and 0 < m["boot_error_region_length"] < 20:
        yield "boot_error_region_length", f"Boot Error Region Length {m['boot_error_region_length']} < 20"


@rule("BERT.EXTRA_DATA", "warning", "bytes after the 48-byte BERT", "ACPI 6.5 §18.3.1 (the BERT is 48 bytes)",
      ("bert",))
def bert_extra(ctx):
    """Table Length covers bytes the BERT does not define."""
    if ctx.model and ctx.model.get("extra_data"):
        yield "extra_data", f"{len(ctx.model['extra_data']) // 2} byte(s) after the BERT's 48 bytes"


# -- EINJ / ERST shared -------------------------------------------------------------------------------

def entries(ctx):
    for i, e in enumerate((ctx.model or {}).get("entries", [])):
        yield i, e, enum_int(f"{ctx.kind}_action", e["action"]), enum_int(f"{ctx.kind}_instruction", e["instruction"])


COUNT_FIELD = {"einj": "injection_entry_count", "erst": "instruction_entry_count"}
HEADER_SIZE_FIELD = {"einj": "injection_header_size", "erst": "serialization_header_size"}


def _kinds_rule(suffix, severity, title, refs: dict, doc):
    """One rule per table kind (EINJ.X and ERST.X) sharing a check."""
    def deco(fn):
        for kind, ref in refs.items():
            def check(ctx, _fn=fn):
                return _fn(ctx)
            check.__doc__ = doc
            rule(f"{kind.upper()}.{suffix}", severity, title, ref, (kind,))(check)
        return fn
    return deco


@_kinds_rule("COUNT_MISMATCH", "error", "entry count disagrees with the entries present",
             {"einj": "ACPI 6.5 §18.6.1 (Injection Entry Count); iasl EINJ template (says 10, holds 8)",
              "erst": "ACPI 6.5 §18.5.1 (Instruction Entry Count); fwts ERSTTooManyEntries"},
             "The entry count must equal the number of 32-byte entries within Table Length. Linux "
             "walks the count, so a larger count reads past the table.")
def count_mismatch(ctx):
    m = ctx.model
    field = COUNT_FIELD[ctx.kind]
    if m and m[field] != len(m["entries"]):
        yield field, f"{field.replace('_', ' ')} is {m[field]}, the table holds {len(m['entries'])} entries"


@_kinds_rule("HEADER_SIZE", "warning", "unusual header size value",
             {"einj": "ACPI 6.5 §18.6.1 (Injection Header Size); real-tables survey §5 (12 and 48 both ship)",
              "erst": "ACPI 6.5 §18.5.1 (Serialization Header Size); real-tables survey §6"},
             "Firmware writes 12 (the table-specific header) or 48 (with the ACPI header): the spec "
             "wording allows both. Any other value is wrong under either reading.")
def header_size(ctx):
    m = ctx.model
    field = HEADER_SIZE_FIELD[ctx.kind]
    if m and m[field] not in (12, 48):
        yield field, f"{field.replace('_', ' ')} is {m[field]}, neither 12 nor 48"


@_kinds_rule("ENTRY_RESERVED", "warning", "instruction entry Reserved byte is not zero",
             {"einj": "ACPI 6.5 §18.6.2; fwts EINJReservedNonZero", "erst": "ACPI 6.5 §18.5.2"},
             "Byte 3 of each instruction entry is reserved.")
def entry_reserved(ctx):
    for i, e, _a, _n in entries(ctx):
        if e["reserved"]:
            yield f"entries[{i}].reserved", f"entry {i}: reserved byte is 0x{e['reserved']:02X}"


@_kinds_rule("REQUIRED_ACTIONS", "warning", "required actions missing",
             {"einj": "ACPI 6.5 §18.6.2 (Table 18.30, error injection actions)",
              "erst": "ACPI 6.5 §18.5.2 (Table 18.23, serialization actions); real-tables survey §6"},
             "Every action of the spec's action table (except the optional timing and EINJv2 actions) "
             "must have at least one instruction, or the OS cannot run the operation.")
def required_actions(ctx):
    if not ctx.model:
        return
    required = EINJ_REQUIRED if ctx.kind == "einj" else ERST_REQUIRED
    present = {a for _i, _e, a, _n in entries(ctx)}
    missing = [name for code, name in required.items() if code not in present]
    if missing:
        yield "entries", f"no instruction for {', '.join(missing)}"


# -- EINJ -------------------------------------------------------------------------------------------

@rule("EINJ.FLAGS_RESERVED", "error", "Injection Flags is not zero", "ACPI 6.5 §18.6.1; fwts EINJReservedBitsNonZero",
      ("einj",))
def einj_flags(ctx):
    """Injection Flags is reserved and must be zero."""
    if ctx.model and ctx.model["injection_flags"]:
        yield "injection_flags", f"Injection Flags is 0x{ctx.model['injection_flags']:02X}"


@rule("EINJ.RESERVED", "warning", "EINJ header Reserved is not zero", "ACPI 6.5 §18.6.1; fwts EINJReservedNonZero",
      ("einj",))
def einj_reserved(ctx):
    """The three bytes after Injection Flags are reserved."""
    if ctx.model and ctx.model["reserved"]:
        yield "reserved", f"Reserved is 0x{ctx.model['reserved']:06X}"


@rule("EINJ.ACTION_RESERVED", "warning", "reserved injection action",
      "ACPI 6.5 §18.6.2 (actions 0-9, 0xFF; 0x10/0x11 EINJv2 with revision 2); fwts EINJBadInjectionAction",
      ("einj",))
def einj_action(ctx):
    """Actions other than 0-9 and TRIGGER_ERROR (0xFF) are reserved; EINJv2's 0x10/0x11 need table
    revision 2."""
    allowed = INJECTION_ACTIONS_V2 if ctx.data[8] >= 2 else INJECTION_ACTIONS_V1
    for i, e, a, _n in entries(ctx):
        if a not in allowed:
            yield f"entries[{i}].action", f"entry {i}: action {e['action']} is reserved for revision {ctx.data[8]}"


@rule("EINJ.INSTRUCTION_RESERVED", "warning", "reserved injection instruction",
      "ACPI 6.5 §18.6.3 (instructions 0-4); fwts EINJBadInstruction", ("einj",))
def einj_instruction(ctx):
    """EINJ defines READ_REGISTER .. NOOP (0-4)."""
    for i, e, _a, n in entries(ctx):
        if n is None or n > 4:
            yield f"entries[{i}].instruction", f"entry {i}: instruction {e['instruction']} is reserved"


@rule("EINJ.SPACE_ID", "error", "EINJ register outside system memory and I/O",
      "ACPI 6.5 §18.6.2 (Register Region: System Memory or System I/O); fwts EINJBadAddressSpaceId", ("einj",))
def einj_space(ctx):
    """EINJ registers live in System Memory or System I/O space."""
    for i, e, _a, _n in entries(ctx):
        space = enum_int("gas_space", e["register_region"]["space_id"])
        if space not in (0, 1):
            yield f"entries[{i}].register_region.space_id", \
                f"entry {i}: register space {e['register_region']['space_id']}"


# -- ERST -------------------------------------------------------------------------------------------

@rule("ERST.RESERVED", "warning", "ERST header Reserved is not zero", "ACPI 6.5 §18.5.1; fwts ERSTReservedNonZero",
      ("erst",))
def erst_reserved(ctx):
    """The four bytes after Serialization Header Size are reserved."""
    if ctx.model and ctx.model["reserved"]:
        yield "reserved", f"Reserved is 0x{ctx.model['reserved']:08X}"


@rule("ERST.HEADER_SIZE_OVERFLOW", "error", "Serialization Header Size exceeds the table",
      "ACPI 6.5 §18.5.1; fwts ERSTHeaderSizeTooLong", ("erst",))
def erst_header_overflow(ctx):
    """A header larger than the table itself."""
    m = ctx.model
    if m and m["serialization_header_size"] > len(ctx.data):
        yield "serialization_header_size", \
            f"Serialization Header Size {m['serialization_header_size']} > table length {len(ctx.data)}"


@rule("ERST.ACTION_INVALID", "error", "undefined serialization action", "ACPI 6.5 §18.5.2; fwts ERSTIInvalidAction",
      ("erst",))
def erst_action(ctx):
    """Serialization actions go up to GET_EXECUTE_OPERATION_TIMINGS (0x10)."""
    for i, e, a, _n in entries(ctx):
        if a is None or a > 0x10:
            yield f"entries[{i}].action", f"entry {i}: action {e['action']} is not defined"


@rule("ERST.ACTION_RESERVED_0C", "warning", "reserved serialization action 0x0C",
      "ACPI 6.5 §18.5.2 (0x0C reserved); real-tables survey §6 (AMI Aptio: 17 tables)", ("erst",))
def erst_action_0c(ctx):
    """Action 0x0C is reserved; AMI Aptio firmware lists it as a NOOP with a zero register."""
    for i, e, a, _n in entries(ctx):
        if a == 0x0C:
            yield f"entries[{i}].action", f"entry {i}: reserved action 0x0C"


@rule("ERST.INSTRUCTION_INVALID", "error", "undefined serialization instruction",
      "ACPI 6.5 §18.5.3 (instructions 0-0x12); fwts ERSTIInvalidInstruction", ("erst",))
def erst_instruction(ctx):
    """Serialization instructions go up to MOVE_DATA (0x12)."""
    for i, e, _a, n in entries(ctx):
        if n is None or n > 0x12:
            yield f"entries[{i}].instruction", f"entry {i}: instruction {e['instruction']} is not defined"


@rule("ERST.FLAGS_INVALID", "error", "write instruction with undefined flags",
      "ACPI 6.5 §18.5.3 (flag 0x01 PRESERVE_REGISTER); fwts ERSTIInvalidFlag", ("erst",))
def erst_flags(ctx):
    """WRITE_REGISTER and WRITE_REGISTER_VALUE take only PRESERVE_REGISTER (bit 0)."""
    for i, e, _a, n in entries(ctx):
        if n in WRITE_INSTRUCTIONS and e["flags"].get("reserved"):
            yield f"entries[{i}].flags", f"entry {i}: flags set bits other than PRESERVE_REGISTER"


@rule("ERST.ACCESS_SIZE", "error", "register access size above QWord",
      "ACPI 6.5 §5.2.3.2 (Access Size 0-4); fwts ERSTIInvalidGasAccessSize", ("erst",))
def erst_access_size(ctx):
    """Access Size encodes 0 (undefined) to 4 (QWord)."""
    for i, e, _a, _n in entries(ctx):
        size = enum_int("access_size", e["register_region"]["access_size"])
        if size is None or size > 4:
            yield f"entries[{i}].register_region.access_size", \
                f"entry {i}: access size {e['register_region']['access_size']}"


@rule("LINUX.ERST.NO_LOG_RANGE", "error", "Linux disables ERST: no error log address range",
      "Linux drivers/acpi/apei/erst.c erst_init (\"Failed to get Error Log Address Range.\")", ("erst",), "linux")
def linux_erst_range(ctx):
    """Linux runs GET_ERROR_LOG_ADDRESS_RANGE (and its length and attributes) at init; without
    them ERST (and pstore on it) is disabled."""
    if not ctx.model:
        return
    present = {a for _i, _e, a, _n in entries(ctx)}
    missing = [ERST_REQUIRED[a] for a in (0x0D, 0x0E, 0x0F) if a not in present]
    if missing:
        yield "entries", f"{kernels_text(ctx.arches)}: no {', '.join(missing)}: ERST disabled"
