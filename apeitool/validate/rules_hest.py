"""HEST rules: ACPI 6.5 §18.3.2, fwts's hest test, firmware bugs seen in real tables, and what
Linux's hest.c/ghes.c do with the table (per kernel architecture)."""
from __future__ import annotations

from collections import Counter, defaultdict

from ..linux_hest import GHES_TYPES, MC_TYPES, hest_walk, notify_unsupported as unsupported_reason
from .engine import enum_int, flags_int, kernels_text, rule

HEST = ("hest",)
AER_TYPES = (6, 7, 8)
SOURCE_TYPES = (0, 1, 2, 6, 7, 8, 9, 10, 11)
ARM_ONLY_NOTIFY = {8: "SEA", 11: "SDEI"}
X86_ONLY_NOTIFY = {4: "NMI"}
MC_FLAG_BITS = [("firmware_first", 0), ("ghes_assist", 2)]
AER_FLAG_BITS = [("firmware_first", 0), ("global", 1)]
POLLED = 0


def sources(ctx):
    """(index, numeric type, source) for each error source."""
    for i, s in enumerate((ctx.model or {}).get("sources", [])):
        yield i, enum_int("hest_type", s.get("type")), s


def notify_type(s):
    return enum_int("notify_type", s["notify"]["type"]) if "notify" in s else None


def describe(i, t, s) -> str:
    from ..names import HEST_TYPE
    return f"{HEST_TYPE.get(t, t)} source_id {s.get('source_id')}"


def infer_arches(model: dict):
    """Which kernels a HEST is written for: arm64 if it uses SEA/SDEI, x86_64 if NMI or IA-32
    machine-check sources, both when it says neither (or both)."""
    arm = x86 = False
    for s in model.get("sources", []):
        t = enum_int("hest_type", s.get("type"))
        n = notify_type(s)
        arm |= n in ARM_ONLY_NOTIFY
        x86 |= n in X86_ONLY_NOTIFY or t in (0, 1, 2, 11)
    if arm and not x86:
        return ("arm64",)
    if x86 and not arm:
        return ("x86_64",)
    return ("arm64", "x86_64")


# -- structure and counts ---------------------------------------------------------------------------

@rule("HEST.COUNT_MISMATCH", "error", "Error Source Count disagrees with the sources present",
      "ACPI 6.5 §18.3.2 (Error Source Count); real-tables survey; iasl templates", HEST)
def count_mismatch(ctx):
    """Error Source Count must equal the number of error source structures. Linux walks exactly
    Error Source Count entries (see LINUX.HEST.COUNT_OVERFLOW); iasl walks Table Length."""
    m = ctx.model
    if m and m["error_source_count"] != len(m["sources"]):
        yield "error_source_count", (f"Error Source Count is {m['error_source_count']}, the table holds "
                                     f"{len(m['sources'])} error source structure(s)")


@rule("HEST.SINGLETON", "error", "more than one IA-32 machine check, corrected check, NMI or deferred check",
      "ACPI 6.5 §18.3.2.1-2.3, §18.3.2.10; fwts HESTTooManyIA32ArchMachineCheckExceptions, "
      "HESTTooManyIA32CorrectedMachineChecks, HESTTooManyNmiErrors", HEST)
def singleton(ctx):
    """Types 0, 1, 2 and 11 may each appear once per HEST."""
    seen = Counter()
    for i, t, s in sources(ctx):
        if t in (0, 1, 2, 11):
            seen[t] += 1
            if seen[t] == 2:
                yield f"sources[{i}].type", f"second {describe(i, t, s)}: only one of this type is allowed"


@rule("HEST.DUPLICATE_SOURCE_ID", "warning", "two error sources share a Source Id",
      "ACPI 6.5 §18.3.2 (Source Id uniquely identifies the error source)", HEST)
def duplicate_id(ctx):
    """Source Ids identify error sources (related-source links, OS bookkeeping) and must be unique.
    LINUX.HEST.DUPLICATE_GHES_ID says when Linux refuses the whole table for it."""
    first = {}
    for i, t, s in sources(ctx):
        sid = s.get("source_id")
        if sid in first:
            yield f"sources[{i}].source_id", f"Source Id {sid} is also used by sources[{first[sid]}]"
        else:
            first[sid] = i


# -- fields of every source -------------------------------------------------------------------------

RESERVED_FIELDS = {0: ("reserved1", "reserved2"), 1: ("reserved1", "reserved2"), 11: ("reserved1", "reserved2"),
                   2: ("reserved1",), 6: ("reserved1", "reserved2"), 7: ("reserved1", "reserved2"),
                   8: ("reserved1", "reserved2"), 9: ("reserved1",), 10: ("reserved1",)}


@rule("HEST.RESERVED_NONZERO", "warning", "reserved field is not zero",
      "ACPI 6.5 §18.3.2.x (Reserved: must be zero); fwts HESTReservedNonZero; real-tables survey #3 "
      "(GHES byte 6 = 0x03 in old AMI/HP/Fujitsu/Supermicro firmware)", HEST)
def reserved_nonzero(ctx):
    """Reserved bytes of error source structures and machine-check banks must be zero. Firmware
    that copies AER flags (FIRMWARE_FIRST|GLOBAL = 0x03) into the GHES reserved byte is common."""
    for i, t, s in sources(ctx):
        for name in RESERVED_FIELDS.get(t, ()):
            if s.get(name):
                yield f"sources[{i}].{name}", f"{describe(i, t, s)}: {name} is 0x{s[name]:X}"
        for b, bank in enumerate(s.get("banks", [])):
            if bank.get("reserved"):
                yield f"sources[{i}].banks[{b}].reserved", f"bank {b}: reserved is 0x{bank['reserved']:X}"


@rule("HEST.ENABLED_VALUE", "warning", "Enabled is neither 0 nor 1", "ACPI 6.5 §18.3.2 (Enabled)", HEST)
def enabled_value(ctx):
    """Enabled is a boolean byte."""
    for i, t, s in sources(ctx):
        if s.get("enabled", 1) not in (0, 1):
            yield f"sources[{i}].enabled", f"{describe(i, t, s)}: Enabled is {s['enabled']}"


@rule("HEST.RECORDS_TO_PREALLOCATE", "error", "Number of Records To Pre-allocate is 0",
      "ACPI 6.5 §18.3.2 (must be >= 1); fwts HESTInvalidRecordsToPreallocate", HEST)
def records_to_preallocate(ctx):
    """Every error source except the IA-32 machine check (type 0) must ask for at least one record."""
    for i, t, s in sources(ctx):
        if t != 0 and "records_to_preallocate" in s and s["records_to_preallocate"] < 1:
            yield f"sources[{i}].records_to_preallocate", f"{describe(i, t, s)}: Records To Pre-allocate is 0"


@rule("HEST.MAX_SECTIONS", "error", "Max Sections Per Record is 0",
      "ACPI 6.5 §18.3.2 (must be >= 1); fwts HESTInvalidMaxSectionsPerRecord", HEST)
def max_sections(ctx):
    """An error record holds at least one section."""
    for i, t, s in sources(ctx):
        if t != 0 and "max_sections_per_record" in s and s["max_sections_per_record"] < 1:
            yield f"sources[{i}].max_sections_per_record", f"{describe(i, t, s)}: Max Sections Per Record is 0"


# -- machine check sources --------------------------------------------------------------------------

@rule("HEST.MC.FLAGS_RESERVED", "warning", "machine-check Flags has reserved bits set",
      "ACPI 6.5 §18.3.2.1 (Flags); fwts HESTIA32FlagsReserved, HESTIA32CorrectedMachineCheckFlagsReserved",
      HEST)
def mc_flags_reserved(ctx):
    """Types 0, 1 and 11 define only FIRMWARE_FIRST (bit 0) and GHES_ASSIST (bit 2)."""
    for i, t, s in sources(ctx):
        if t in MC_TYPES:
            value = flags_int(s["flags"], MC_FLAG_BITS)
            if value & ~0x05 & 0xFF:
                yield f"sources[{i}].flags", f"{describe(i, t, s)}: Flags 0x{value:02X} sets reserved bits"


@rule("HEST.MC.FF_WITH_ASSIST", "error", "FIRMWARE_FIRST and GHES_ASSIST both set",
      "ACPI 6.5 §18.3.2.1 (GHES_ASSIST is reserved when FIRMWARE_FIRST is set); fwts HESTIA32BadFlags, "
      "HESTIA32CorrectedMachineCheckBadFlags", HEST)
def ff_with_assist(ctx):
    """GHES_ASSIST describes an OS-first source assisted by a GHES; with FIRMWARE_FIRST it is
    meaningless."""
    for i, t, s in sources(ctx):
        if t in MC_TYPES and s["flags"].get("firmware_first") and s["flags"].get("ghes_assist"):
            yield f"sources[{i}].flags", f"{describe(i, t, s)}: FIRMWARE_FIRST and GHES_ASSIST both set"


@rule("HEST.BANK.CLEAR_STATUS", "error", "Clear Status On Initialization is neither 0 nor 1",
      "ACPI 6.5 §18.3.2.1.1; fwts HESTIA32InvalidClearStatusOnInit", HEST)
def bank_clear_status(ctx):
    """0 = clear the bank's status on initialisation, 1 = do not."""
    for i, t, s in sources(ctx):
        for b, bank in enumerate(s.get("banks", [])):
            if bank["clear_status_on_init"] > 1:
                yield f"sources[{i}].banks[{b}].clear_status_on_init", \
                    f"bank {b}: Clear Status On Initialization is {bank['clear_status_on_init']}"


@rule("HEST.BANK.STATUS_FORMAT", "error", "unknown machine-check Status Data Format",
      "ACPI 6.5 §18.3.2.1.1 (0 IA-32 MCA, 1 Intel 64 MCA, 2 AMD64 MCA); "
      "fwts HESTIA32InvalidBankStatusDataFormat", HEST)
def bank_status_format(ctx):
    """Status Data Format must be 0, 1 or 2."""
    for i, t, s in sources(ctx):
        for b, bank in enumerate(s.get("banks", [])):
            value = enum_int("mca_status_format", bank["status_format"])
            if value is None or value > 2:
                yield f"sources[{i}].banks[{b}].status_format", f"bank {b}: Status Data Format {value}"


# -- AER sources ------------------------------------------------------------------------------------

@rule("HEST.AER.FLAGS_RESERVED", "error", "AER Flags has reserved bits set",
      "ACPI 6.5 §18.3.2.4-6 (Flags bits 2-7 reserved); fwts HESTReservedBitsNonZero", HEST)
def aer_flags_reserved(ctx):
    """AER sources define only FIRMWARE_FIRST (bit 0) and GLOBAL (bit 1)."""
    for i, t, s in sources(ctx):
        if t in AER_TYPES:
            value = flags_int(s["flags"], AER_FLAG_BITS)
            if value & 0xFC:
                yield f"sources[{i}].flags", f"{describe(i, t, s)}: Flags 0x{value:02X} sets reserved bits 2-7"


@rule("HEST.AER.BUS_RESERVED", "warning", "AER Bus bits 31:24 are not zero",
      "ACPI 6.5 §18.3.2.4 (Bus: 7:0 bus, 23:8 segment, 31:24 reserved)", HEST)
def aer_bus_reserved(ctx):
    """The Bus field carries the bus number and PCI segment; its top byte is reserved."""
    for i, t, s in sources(ctx):
        if t in AER_TYPES and s["bus"] >> 24:
            yield f"sources[{i}].bus", f"{describe(i, t, s)}: Bus 0x{s['bus']:08X} sets bits 31:24"


@rule("HEST.AER.GLOBAL_DUPLICATE", "warning", "GLOBAL set on more than one AER source of a type",
      "ACPI 6.5 §18.3.2.4 (GLOBAL: only one structure of this type may exist)", HEST)
def aer_global_duplicate(ctx):
    """With GLOBAL set the structure applies to every device of its kind, so it must be the only
    structure of that type."""
    by_type = defaultdict(list)
    for i, t, s in sources(ctx):
        if t in AER_TYPES:
            by_type[t].append((i, s))
    for t, items in by_type.items():
        if len(items) > 1 and any(s["flags"].get("global") for _i, s in items):
            i, s = next((i, s) for i, s in items if s["flags"].get("global"))
            yield f"sources[{i}].flags", f"{describe(i, t, s)} is GLOBAL but {len(items)} sources have its type"


@rule("HEST.AER.FF_ENABLED_IGNORED", "info", "FIRMWARE_FIRST with Enabled = 0",
      "ACPI 6.5 §18.3.2.4 (if FIRMWARE_FIRST is set, OSPM ignores Enabled)", HEST)
def aer_ff_enabled(ctx):
    """A firmware-first AER source is firmware's business; Enabled = 0 does not disable it."""
    for i, t, s in sources(ctx):
        if t in AER_TYPES + MC_TYPES and s["flags"].get("firmware_first") and s.get("enabled") == 0:
            yield f"sources[{i}].enabled", f"{describe(i, t, s)}: FIRMWARE_FIRST set, Enabled = 0 is ignored"


# -- notification structures ------------------------------------------------------------------------

def notified(ctx):
    for i, t, s in sources(ctx):
        if "notify" in s:
            yield i, t, s, s["notify"], notify_type(s)


@rule("HEST.NOTIFY.TYPE_RESERVED", "error", "reserved notification type",
      "ACPI 6.5 §18.3.2.9 (types 0-11); fwts HESTInvalidHardwareErrorNotificationType", HEST)
def notify_reserved(ctx):
    """Notification types above 11 are reserved."""
    for i, t, s, n, nt in notified(ctx):
        if nt is None or nt > 11:
            yield f"sources[{i}].notify.type", f"{describe(i, t, s)}: notification type {n['type']} is reserved"


@rule("HEST.GHES.NOTIFY_LENGTH", "error", "Notification Structure Length is not 28",
      "ACPI 6.5 §18.3.2.9 (Length = 28); real-tables survey #17 (Phytium: 0x5C)", HEST)
def notify_length(ctx):
    """The Hardware Error Notification Structure is 28 bytes; decoders that trust another Length
    misplace every field after it."""
    for i, t, s, n, nt in notified(ctx):
        if n["length"] != 28:
            yield f"sources[{i}].notify.length", f"{describe(i, t, s)}: Notify Length is {n['length']}, not 28"


@rule("HEST.NOTIFY.CWE_RESERVED", "warning", "Configuration Write Enable has reserved bits set",
      "ACPI 6.5 §18.3.2.9 (bits 6-15 reserved); fwts HESTReservedBitsNonZero; real-tables survey (0x603E)",
      HEST)
def cwe_reserved(ctx):
    """Only bits 0-5 of Configuration Write Enable are defined."""
    for i, t, s, n, nt in notified(ctx):
        reserved = n["config_write_enable"].get("reserved", 0)
        if reserved:
            yield f"sources[{i}].notify.config_write_enable", \
                f"{describe(i, t, s)}: Configuration Write Enable sets reserved bits (0x{reserved:04X})"


@rule("HEST.NOTIFY.POLL_INTERVAL_ZERO", "warning", "polled notification with Poll Interval 0",
      "ACPI 6.5 §18.3.2.9 (Poll Interval, ms); real-tables survey (CMC and GHES with PollInterval 0)", HEST)
def poll_zero(ctx):
    """A polled source with no interval is never polled (Linux disables such a GHES, see
    LINUX.GHES.POLL_DISABLED)."""
    for i, t, s, n, nt in notified(ctx):
        if nt == POLLED and n["poll_interval"] == 0:
            yield f"sources[{i}].notify.poll_interval", f"{describe(i, t, s)}: polled, Poll Interval 0"


@rule("HEST.NOTIFY.POLL_INTERVAL_UNUSED", "info", "Poll Interval set on a non-polled notification",
      "ACPI 6.5 §18.3.2.9; real-tables survey #15 (Ampere, AMI)", HEST)
def poll_unused(ctx):
    """Poll Interval only means something for polled notifications; elsewhere it is ignored."""
    for i, t, s, n, nt in notified(ctx):
        if nt not in (POLLED, None) and n["poll_interval"]:
            yield f"sources[{i}].notify.poll_interval", \
                f"{describe(i, t, s)}: Poll Interval {n['poll_interval']} on a {n['type']} notification"


@rule("HEST.MIXED_ARCH", "warning", "notifications of both arm64 and x86 in one table",
      "ACPI 6.5 §18.3.2.9 (SEA/SDEI are Arm, NMI is x86)", HEST)
def mixed_arch(ctx):
    """SEA and SDEI exist only on Arm, NMI and the IA-32 source types only on x86: one kernel cannot
    use all of the table."""
    arm = [i for i, t, s, n, nt in notified(ctx) if nt in ARM_ONLY_NOTIFY]
    x86 = [i for i, t, s, n, nt in notified(ctx) if nt in X86_ONLY_NOTIFY]
    if arm and x86:
        yield f"sources[{x86[0]}].notify.type", \
            f"sources {arm} use Arm notifications and sources {x86} use NMI"


# -- GHES / GHESv2 ----------------------------------------------------------------------------------

def ghes(ctx):
    for i, t, s in sources(ctx):
        if t in GHES_TYPES:
            yield i, t, s


@rule("HEST.GHES.RELATED_SOURCE", "warning", "Related Source Id points nowhere useful",
      "ACPI 4.0 §17.3.2.6 (Related Source Id: the alternate, non-generic error source this GHES "
      "reports for); ACPI 6.5 §18.3.2.7 (0xFFFF = none, or the GHES_ASSIST machine-check source); "
      "real-tables survey (AMI: Related Source Id 0 in both GHES)", HEST)
def related_source(ctx):
    """A GHES's Related Source Id is 0xFFFF or names the non-generic source it stands in for:
    ACPI 4.0 meant any alternate source (firmware pairs firmware-first PCIe AER sources with GHES
    this way), ACPI 6.x the machine-check source a GHES_ASSIST GHES helps. Warned: pointing to
    itself, to no source, or to a GHES/GHESv2, which no ACPI version allows."""
    by_id = {}
    for i, t, s in sources(ctx):
        by_id.setdefault(s.get("source_id"), (i, t, s))
    for i, t, s in ghes(ctx):
        rel = s.get("related_source_id", 0xFFFF)
        if rel == 0xFFFF:
            continue
        path = f"sources[{i}].related_source_id"
        if rel == s.get("source_id"):
            yield path, f"{describe(i, t, s)}: Related Source Id {rel} points to itself (0xFFFF means none)"
        elif rel not in by_id:
            yield path, f"{describe(i, t, s)}: Related Source Id {rel} matches no error source"
        elif by_id[rel][1] in GHES_TYPES or by_id[rel][1] not in SOURCE_TYPES:
            j, tt, ss = by_id[rel]
            yield path, (f"{describe(i, t, s)}: Related Source Id {rel} is {describe(j, tt, ss)}: a generic "
                         f"source cannot be the alternate of another (ACPI 4.0 alternate source, 6.x "
                         f"GHES_ASSIST machine-check source)")


@rule("HEST.GHES.STATUS_BLOCK_SHARED", "error", "two GHES share one Error Status Address",
      "ACPI 6.5 §18.3.2.7 (each GHES has its own error status block)", HEST)
def status_shared(ctx):
    """Two sources reading the same status address would read (and clear) each other's records."""
    seen = {}
    for i, t, s in ghes(ctx):
        addr = s["error_status_address"]["address"]
        if addr and addr in seen:
            yield f"sources[{i}].error_status_address.address", \
                f"{describe(i, t, s)}: Error Status Address 0x{addr:X} is also sources[{seen[addr]}]'s"
        seen.setdefault(addr, i)


@rule("HEST.GHES.STATUS_ADDRESS_WIDTH", "warning", "Error Status Address register narrower than 64 bits",
      "ACPI 6.5 §18.3.2.7 (the register holds a 64-bit physical address); real-tables survey #4", HEST)
def status_width(ctx):
    """The register at Error Status Address holds the physical address of the status block; a 32-bit
    register confines the block below 4 GiB and drops the high half of the address."""
    for i, t, s in ghes(ctx):
        width = s["error_status_address"]["bit_width"]
        if width and width < 64:
            yield f"sources[{i}].error_status_address.bit_width", \
                f"{describe(i, t, s)}: Error Status Address register is {width} bits wide"


@rule("HEST.GHES.BLOCK_TOO_SMALL", "error", "Error Status Block Length below 20",
      "ACPI 6.5 §18.3.2.7.1 (the status block header is 20 bytes)", HEST)
def block_small(ctx):
    """The block cannot even hold its 20-byte header."""
    for i, t, s in ghes(ctx):
        if s["error_status_block_length"] < 20:
            yield f"sources[{i}].error_status_block_length", \
                f"{describe(i, t, s)}: Error Status Block Length {s['error_status_block_length']} < 20"


@rule("HEST.GHES.DISABLED", "info", "GHES with Enabled = 0", "ACPI 6.5 §18.3.2.7 (Enabled)", HEST)
def ghes_disabled(ctx):
    """A disabled GHES is ignored by the OS (Linux still counts it when sizing its estatus pool)."""
    for i, t, s in ghes(ctx):
        if s.get("enabled") == 0:
            yield f"sources[{i}].enabled", f"{describe(i, t, s)} is disabled"


@rule("HEST.GHESV2.READ_ACK_NOOP", "warning", "GHESv2 read-ack writes nothing",
      "ACPI 6.5 §18.3.2.8 (ack = (read & Preserve) | Write); real-tables survey", HEST)
def read_ack_noop(ctx):
    """Read Ack Preserve and Read Ack Write both 0: the acknowledgement writes 0 over the register,
    which firmware cannot tell from no acknowledgement when the register already reads 0."""
    for i, t, s in ghes(ctx):
        if t == 10 and s["read_ack_preserve"] == 0 and s["read_ack_write"] == 0:
            yield f"sources[{i}].read_ack_write", f"{describe(i, t, s)}: Read Ack Preserve and Write are both 0"


@rule("HEST.GHESV2.READ_ACK_CLOBBERS", "info", "GHESv2 read-ack overwrites the whole register",
      "ACPI 6.5 §18.3.2.8; real-tables survey (Ampere: Preserve 0, per-source doorbell codes)", HEST)
def read_ack_clobbers(ctx):
    """Preserve 0 with a non-zero Write: the ack replaces the register's value. Legal (a doorbell),
    but wrong if the register holds other state."""
    for i, t, s in ghes(ctx):
        if t == 10 and s["read_ack_preserve"] == 0 and s["read_ack_write"]:
            yield f"sources[{i}].read_ack_preserve", \
                f"{describe(i, t, s)}: Read Ack Preserve 0: the ack writes 0x{s['read_ack_write']:X} over the register"


@rule("HEST.GHESV2.READ_ACK_SHARED", "info", "several GHESv2 share one Read Ack register",
      "ACPI 6.5 §18.3.2.8; real-tables survey (Ampere Altra)", HEST)
def read_ack_shared(ctx):
    """One ack register for several sources: firmware must tell the sources apart by the value
    written (Read Ack Write), or it cannot know which block was read."""
    seen = {}
    for i, t, s in ghes(ctx):
        if t == 10:
            addr = s["read_ack_register"]["address"]
            if addr and addr in seen:
                same_write = any(s["read_ack_write"] == w for _j, w in seen[addr])
                yield f"sources[{i}].read_ack_register.address", \
                    (f"{describe(i, t, s)}: Read Ack register 0x{addr:X} is shared with "
                     f"sources{[j for j, _w in seen[addr]]}" + (" and writes the same value" if same_write else ""))
            seen.setdefault(addr, []).append((i, s["read_ack_write"]))


# -- what Linux does ---------------------------------------------------------------------------------

def linux_walk(ctx):
    """(model index, type, source, assist_skipped) of the model's sources that Linux's
    apei_hest_parse walks (structures only Linux sees, in a zero gap, are left out)."""
    view = ctx.linux_view
    if view.failure:
        return
    for k, t, s, skipped in hest_walk(view.sources, len(view.sources),
                                      lambda s: enum_int("hest_type", s.get("type"))):
        if view.index[k] is not None:
            yield view.index[k], t, s, skipped


@rule("HEST.ZERO_GAP", "warning", "zero bytes where an error source structure should start",
      "ACPI 6.5 §18.3.2 (error source structures follow one another up to Table Length); "
      "seen on a real server board (336 zero bytes before two GHES)", HEST)
def zero_gap(ctx):
    """A run of zero bytes between (or after) error source structures is no structure: iasl prints
    it as IA-32 Machine Check Exception subtables, Linux walks it as such (LINUX.HEST.ZERO_GAP_WALK).
    apeitool keeps the gap as bytes so the table round-trips."""
    m = ctx.model or {}
    n = len(m.get("sources", []))
    for k, gap in enumerate(m.get("gaps") or []):
        i = gap["before_source"]
        where = (f"between sources[{i - 1}] and sources[{i}]" if 0 < i < n else
                 "before sources[0]" if i == 0 and n else "after the last error source structure")
        yield f"gaps[{k}]", f"{gap['length']} zero bytes {where} are no error source structure"


@rule("LINUX.HEST.ZERO_GAP_WALK", "error", "Linux walks a zero gap as IA-32 MCE structures",
      "Linux drivers/acpi/apei/hest.c apei_hest_parse (walks Error Source Count entries from the "
      "first, each as long as its type; Table Length is only an overflow bound)", HEST, "linux")
def zero_gap_walk(ctx):
    """Linux does not skip zero bytes: it reads them as type-0 IA-32 MCE structures (Source Id 0,
    no banks), counts them against Error Source Count, and so never reaches the sources behind the
    gap, or lands inside one and disables the HEST. Says which GHES Linux never registers."""
    m = ctx.model or {}
    if not m.get("gaps"):
        return
    view = ctx.linux_view
    who = kernels_text(ctx.arches)
    if view.failure:
        yield "gaps[0]", (f"{who}: reading the zero gap as IA-32 MCE structures, the walk reaches 0x"
                          f"{view.failure_offset:X}: \"{view.failure}\": HEST disabled, no GHES registered")
        return
    phantoms = view.phantoms
    if not phantoms:
        return
    reached = {i for i in view.index if i is not None}
    missed = [(i, enum_int("hest_type", s.get("type")), s) for i, s in enumerate(m["sources"]) if i not in reached]
    ghes_missed = [describe(i, t, s) for i, t, s in missed if t in GHES_TYPES]
    registered = [i for i, t, s, skipped in linux_walk(ctx) if t in GHES_TYPES and not skipped]
    text = (f"{who}: walks {len(phantoms)} IA-32 MCE structure(s) (Source Id 0) in the zero gap at "
            f"0x{view.offset[phantoms[0]]:X} as part of Error Source Count {m['error_source_count']}")
    if missed:
        text += f"; never reaches sources{[i for i, _t, _s in missed]}"
    if ghes_missed:
        text += f" ({', '.join(ghes_missed)} not registered)"
    if not registered:
        text += ": no GHES registered"
    yield "gaps[0]", text


@rule("LINUX.HEST.COUNT_OVERFLOW", "error", "Linux disables the HEST: Error Source Count overflows the table",
      "Linux drivers/acpi/apei/hest.c apei_hest_parse (\"Table contents overflow\")", HEST, "linux")
def count_overflow(ctx):
    """Linux walks Error Source Count entries; if they run past Table Length it logs a firmware bug
    and disables the whole HEST (no GHES at all)."""
    m = ctx.model
    if m and m["error_source_count"] > len(m["sources"]):
        yield "error_source_count", (f"{kernels_text(ctx.arches)}: Error Source Count {m['error_source_count']} "
                                     f"> {len(m['sources'])} sources present: \"HEST: Table contents overflow "
                                     f"for hardware error source\", HEST disabled")


@rule("LINUX.HEST.SOURCES_IGNORED", "warning", "Linux never sees the sources past Error Source Count",
      "Linux drivers/acpi/apei/hest.c apei_hest_parse (walks error_source_count entries)", HEST, "linux")
def sources_ignored(ctx):
    """With a count smaller than the sources present, the extra sources are invisible to Linux."""
    m = ctx.model
    if m and m["error_source_count"] < len(m["sources"]):
        n = m["error_source_count"]
        yield f"sources[{n}]", f"{kernels_text(ctx.arches)}: sources[{n}:] are past Error Source Count {n}"


@rule("LINUX.HEST.DUPLICATE_GHES_ID", "error", "Linux disables the HEST: duplicated GHES Source Id",
      "Linux drivers/acpi/apei/hest.c hest_parse_ghes (\"Duplicated hardware error source ID\")", HEST, "linux")
def duplicate_ghes(ctx):
    """Two enabled GHES/GHESv2 with one Source Id: hest.c fails and the whole HEST is disabled."""
    seen = {}
    for i, t, s, skipped in linux_walk(ctx):
        if t in GHES_TYPES and not skipped and s.get("enabled"):
            sid = s.get("source_id")
            if sid in seen:
                yield f"sources[{i}].source_id", (f"{kernels_text(ctx.arches)}: \"Duplicated hardware error "
                                                  f"source ID: {sid}\" (also sources[{seen[sid]}]): HEST disabled")
            seen.setdefault(sid, i)


@rule("LINUX.HEST.ASSIST_SKIPPED", "info", "GHES skipped by Linux as a GHES_ASSIST helper",
      "Linux drivers/acpi/apei/hest.c apei_hest_parse (GHES_ASSIST skip)", HEST, "linux")
def assist_skipped(ctx):
    """A GHES whose Related Source Id names a machine-check source with GHES_ASSIST is handled by
    that source's driver, not registered as a GHES."""
    for i, t, s, skipped in linux_walk(ctx):
        if skipped:
            yield f"sources[{i}].related_source_id", f"{describe(i, t, s)} assists a machine-check source"


@rule("LINUX.GHES.NOTIFY_UNSUPPORTED", "error", "Linux does not register this GHES: notification unsupported",
      "Linux drivers/acpi/apei/ghes.c ghes_probe (notify type switch); SEI is not implemented", HEST, "linux")
def notify_unsupported(ctx):
    """Local interrupt, CMCI, MCE and SEI notifications are never supported by GHES; NMI only on
    x86, SEA and SDEI only on arm64 (SDEI from v5.1: --kernel-version). Such a source is not
    registered: its errors are never read."""
    for i, t, s, skipped in linux_walk(ctx):
        if t not in GHES_TYPES or skipped or not s.get("enabled"):
            continue
        nt = notify_type(s)
        for arch in ctx.arches:
            reason = unsupported_reason(nt, arch, sdei=ctx.kv.has("estatus_queue"))   # SDEI from v5.1
            if reason:
                yield f"sources[{i}].notify.type", f"linux-{arch}: {describe(i, t, s)}: {s['notify']['type']}: {reason}"


@rule("LINUX.GHES.SDEI_EVENT_ZERO", "error", "SDEI-notified GHES with event number 0",
      "Linux drivers/acpi/apei/ghes.c / drivers/firmware/arm_sdei.c sdei_register_ghes (event 0 rejected)",
      HEST, "linux")
def sdei_zero(ctx):
    """For SDEI notifications Vector is the SDEI event number; Linux rejects event 0."""
    if "arm64" not in ctx.arches:
        return
    for i, t, s, skipped in linux_walk(ctx):
        if t in GHES_TYPES and not skipped and s.get("enabled") and notify_type(s) == 11 and s["notify"]["vector"] == 0:
            yield f"sources[{i}].notify.vector", f"linux-arm64: {describe(i, t, s)}: SDEI event number 0"


@rule("LINUX.GHES.BLOCK_LENGTH", "error", "Linux rejects the GHES: error block length below 20",
      "Linux drivers/acpi/apei/ghes.c ghes_probe (\"Invalid error block length\")", HEST, "linux")
def linux_block_length(ctx):
    """ghes_probe fails with -EIO and the source is not registered."""
    for i, t, s, skipped in linux_walk(ctx):
        if t in GHES_TYPES and not skipped and s.get("enabled") and s["error_status_block_length"] < 20:
            yield f"sources[{i}].error_status_block_length", \
                f"{kernels_text(ctx.arches)}: \"Invalid error block length: {s['error_status_block_length']}\""


@rule("LINUX.GHES.BLOCK_TOO_LONG", "warning", "error block longer than Linux's 64 KiB buffer",
      "Linux drivers/acpi/apei/ghes.c ghes_new (GHES_ESTATUS_MAX_SIZE 65536)", HEST, "linux")
def linux_block_long(ctx):
    """Linux allocates at most 65536 bytes per source and warns; records longer than that cannot be read
    whole."""
    for i, t, s, skipped in linux_walk(ctx):
        if t in GHES_TYPES and not skipped and s.get("enabled") and s["error_status_block_length"] > 65536:
            yield f"sources[{i}].error_status_block_length", \
                f"{kernels_text(ctx.arches)}: \"Error status block length is too long: " \
                f"{s['error_status_block_length']}\" (buffer capped at 65536)"


@rule("LINUX.GHES.UNALIGNED_REGISTER_ARM64", "error", "arm64 faults on this unaligned GHES register",
      "Linux arm64: apei_read/apei_write -> acpi_os_read/write_memory on an ioremapped (Device) mapping; "
      "an unaligned access there is an alignment fault (seen under apeitool vm, 6.12: Oops in apei_read "
      "at ghes_probe)", HEST, "linux")
def unaligned_arm64(ctx):
    """On arm64 the GHES registers are ioremapped as device memory, where an access not aligned
    to its size is an alignment fault: the kernel Oopses in ghes_probe (status address) or when it
    acknowledges (read-ack). x86 tolerates it (ACPI.GAS.UNALIGNED)."""
    if "arm64" not in ctx.arches:
        return
    from .rules_table import access_bits
    for i, t, s, skipped in linux_walk(ctx):
        if t not in GHES_TYPES or skipped or not s.get("enabled"):
            continue
        for key, what in (("error_status_address", "Error Status Address"), ("read_ack_register", "Read Ack Register")):
            gas = s.get(key)
            if not isinstance(gas, dict) or not gas.get("address"):
                continue
            size = (access_bits(gas) or gas.get("bit_width", 64) or 64) // 8
            if enum_int("gas_space", gas["space_id"]) == 0 and size > 1 and gas["address"] % size:
                yield f"sources[{i}].{key}.address", \
                    (f"linux-arm64: {describe(i, t, s)}: {what} 0x{gas['address']:X} is not {size}-byte aligned: "
                     f"the kernel's {size * 8}-bit access faults (Oops in apei_{'read' if key == 'error_status_address' else 'write'})")


@rule("LINUX.GHES.POLL_DISABLED", "warning", "Linux never polls this GHES: Poll Interval 0",
      "Linux drivers/acpi/apei/ghes.c ghes_probe (\"Poll interval is 0 ... disabled\")", HEST, "linux")
def linux_poll_disabled(ctx):
    """A polled GHES with interval 0 gets no timer: its status block is read only once, at probe."""
    for i, t, s, skipped in linux_walk(ctx):
        if t in GHES_TYPES and not skipped and s.get("enabled") and notify_type(s) == POLLED \
                and s["notify"]["poll_interval"] == 0:
            yield f"sources[{i}].notify.poll_interval", \
                f"{kernels_text(ctx.arches)}: \"Poll interval is 0 for generic hardware error source: " \
                f"{s.get('source_id')}, disabled.\""
