"""The lines Linux prints for a status block or record (drivers/firmware/efi/cper.c, cper-arm.c,
cper-x86.c, cper_cxl.c; ghes.c's header line), as of v6.17.

Each level of indentation is one more space appended to the prefix, as the kernel does. `arch` chooses
which processor sections the kernel build decodes (ARM on arm64, IA32/X64 on x86_64); the other prints
as an unknown section with a hex dump, exactly as that kernel would.
"""
from __future__ import annotations

from typing import Callable, List, Optional

from ..cper.body import section_key
from ..kernel_versions import kernel_version
from ..guids import SECTION_TYPES
from ..schemas.cper import timestamp_fields
from ..schemas.values import parse_int

HW_ERR = "[Hardware Error]: "
SEVERITY_STR = {0: "recoverable", 1: "fatal", 2: "corrected", 3: "info"}
_SEV_INT = {"recoverable": 0, "fatal": 1, "corrected": 2, "informational": 3}
_CXL_EVENTS = {"cxl_general_media": "CXL General Media Event", "cxl_dram": "CXL DRAM Event",
               "cxl_memory_module": "CXL Memory Module Event"}
MIN_LENGTH = {"processor_generic": 192, "platform_memory": 73, "pcie": 208, "arm": 40, "ia32x64": 64,
              "firmware_error_record": 16, "cxl_protocol": 116}


def sev_int(value) -> int:
    return _SEV_INT.get(value, value) if isinstance(value, str) else value


def sev_str(value) -> str:
    return SEVERITY_STR.get(sev_int(value), "unknown")


def hexdump(prefix: str, data: bytes, group: int = 4, ascii: bool = True) -> List[str]:
    """print_hex_dump(prefix, "", DUMP_PREFIX_OFFSET, 16, group, data, len, ascii), row by row as
    lib/hexdump.c hex_dump_to_buffer builds each: a row whose length is not a multiple of the group
    size falls back to 1-byte groups, and the ASCII column (rowsize * 2 + rowsize / groupsize + 1,
    with the group size in force for that row) is only padded up to, never past: text longer than
    it runs straight into the ASCII."""
    lines = []
    if group not in (1, 2, 4, 8):
        group = 1
    for off in range(0, len(data), 16):
        row = data[off:off + 16]
        g = group if len(row) % group == 0 else 1
        parts = [int.from_bytes(row[i:i + g], "little").to_bytes(g, "big").hex()
                 for i in range(0, len(row), g)]
        text = " ".join(parts)
        if ascii:
            column = 16 * 2 + 16 // g + 1
            text = text.ljust(column) + "".join(chr(c) if 0x20 <= c < 0x7F else "." for c in row)
        lines.append(f"{prefix}{off:08x}: {text}")
    return lines


def _bits_list(prefix: str, value: int, names: List[str]) -> List[str]:
    """cper_print_bits: names of set bits, comma-joined, wrapped at 80 columns."""
    out, line = [], ""
    for i, name in enumerate(names):
        if not value >> i & 1:
            continue
        if line and len(line) + len(name) + 2 > 80:
            out.append(line)
            line = ""
        line = f"{prefix}{name}" if not line else f"{line}, {name}"
    if line:
        out.append(line)
    return out


def pci_name(segment: int, bus: int, device: int, function: int) -> str:
    """A PCI device as Linux names it (dev_name, "%04x:%02x:%02x.%x")."""
    return f"{segment:04x}:{bus:02x}:{device:02x}.{function:x}"


def cxl_agent_name(address: int) -> str:
    """A CXL agent address (UEFI 2.10 N.2.13: function, device, bus, segment from bit 0) by pci_name."""
    return pci_name(address >> 24 & 0xFFFF, address >> 16 & 0xFF, address >> 8 & 0xFF, address & 0xFF)


def _v(body, bit) -> bool:
    return bool(parse_int(body.get("validation_bits", 0)) >> bit & 1)


class View:
    """The bytes a printer reads, from its section's first byte: the section, then whatever follows
    it in the status block or record (the kernel's printers trust their own counts and read on into
    the next entry). Past the end of the block the kernel reads unrelated memory; those bytes are
    shown as zeros and `past` says how far the read went."""

    def __init__(self, data: bytes, start: int = 0):
        self.data, self.start, self.past = data, start, 0

    def get(self, off: int, n: int) -> bytes:
        lo = self.start + off
        chunk = self.data[lo:lo + n] if n > 0 else b""
        if len(chunk) < n:
            self.past = max(self.past, lo + n - len(self.data))
            chunk += bytes(n - len(chunk))
        return chunk

    def u(self, off: int, size: int) -> int:
        return int.from_bytes(self.get(off, size), "little")

    def dump(self, off: int, n: int) -> bytes:
        """Up to `n` bytes for a hex dump, cut where the known bytes end (the kernel's dump goes on
        into memory nobody can predict; `past` records that it did)."""
        lo = self.start + off
        chunk = self.data[lo:lo + n] if n > 0 else b""
        if len(chunk) < n:
            self.past = max(self.past, lo + n - len(self.data))
        return chunk

    def ends_before(self, off: int) -> bool:
        """True when a structure at `off` starts past the known bytes: a walk stops there."""
        if self.start + off >= len(self.data):
            self.past = max(self.past, self.start + off - len(self.data) + 1)
            return True
        return False


def render_block(block: dict, source_id: Optional[int] = 0, seq: Optional[int] = 1,
                 arch: str = "arm64", version=None, raw: Optional[bytes] = None,
                 warn: Optional[Callable[[str], None]] = None) -> List[str]:
    """The lines for one status block as ghes_print_estatus prints them ({seq} prefix and the
    source line); with seq and source_id None, as bert.c prints it (neither). The sections are
    read from the block's bytes (`raw`, else built from the model) the way the kernel walks them."""
    from ..cper.estatus import build_block
    kv = kernel_version(version)
    data = raw if raw is not None else build_block(block)
    hdr = View(data)
    raw_len, raw_off = hdr.u(8, 4), hdr.u(4, 4)
    known = raw_off + raw_len if raw_len else 20 + hdr.u(12, 4)   # cper_estatus_len: what is copied
    mem = data[:known]
    pfx = HW_ERR if seq is None else f"{{{seq}}}{HW_ERR}"
    lines = [] if source_id is None else \
        [f"{pfx}Hardware error from APEI Generic Hardware Error Source: {source_id}"]
    entries, off = [], 20
    for e in block.get("entries", []):
        rev = View(mem, off).u(20, 2)
        head = 72 if rev >> 8 >= 3 else 64
        length = View(mem, off).u(24, 4)
        entries.append((e["section_type"], View(mem, off + head), length, e.get("error_severity"),
                        e.get("validation_bits", {}), e.get("fru_id"), e.get("fru_text"), e.get("timestamp"), rev))
        off += head + length
    return lines + _estatus(pfx, block["error_severity"], entries, arch, kv, warn)


def render_record(record: dict, seq: int = 1, arch: str = "arm64", version=None,
                  warn: Optional[Callable[[str], None]] = None) -> List[str]:
    """A full CPER record printed with the same printers (Linux prints records only via ERST/pstore
    tools; the layout follows cper_estatus_print with the record's severity)."""
    from ..cper.record import build_record
    kv = kernel_version(version)
    data = build_record(record)
    pfx = f"{{{seq}}}{HW_ERR}"
    entries = [(s["descriptor"]["section_type"], View(data, parse_int(s["descriptor"]["section_offset"])),
                parse_int(s["descriptor"]["section_length"]), s["descriptor"]["section_severity"],
                s["descriptor"]["validation_bits"], s["descriptor"]["fru_id"], s["descriptor"]["fru_text"], None, 0)
               for s in record["sections"]]
    return _estatus(pfx, record["header"]["error_severity"], entries, arch, kv, warn)


def _estatus(pfx, severity, entries, arch, kv, warn) -> List[str]:
    lines = []
    if sev_int(severity) == 2:
        lines.append(f"{pfx}It has been corrected by h/w and requires no further action")
    lines.append(f"{pfx}event severity: {sev_str(severity)}")
    for n, (stype, view, length, esev, vbits, fru_id, fru_text, ts, rev) in enumerate(entries):
        lines += _section(pfx + " ", n, stype, view, length, esev, vbits, fru_id, fru_text, ts, rev, arch, kv)
        if view.past and warn is not None:
            warn(f"section {n}: the kernel's printer reads {view.past} bytes past the end of the "
                 f"record here; what it prints for them depends on memory (shown as zeros)")
    return lines


def _section(s, n, stype, view, length, esev, vbits, fru_id, fru_text, ts, rev, arch, kv) -> List[str]:
    lines = []
    if rev >> 8 >= 3 and vbits.get("timestamp") and ts not in (None, 0):
        t = timestamp_fields(ts)
        lines.append(f"{s}{'precise ' if t['precise'] else 'imprecise '}tstamp: "
                     f"{t['century']:02d}{t['year']:02d}-{t['month']:02d}-{t['day']:02d} "
                     f"{t['hours']:02d}:{t['minutes']:02d}:{t['seconds']:02d}")
    lines.append(f"{s}Error {n}, type: {sev_str(esev)}")
    if vbits.get("fru_id"):
        lines.append(f"{s}fru_id: {fru_id}")
    if vbits.get("fru_text"):
        lines.append(f"{s}fru_text: {fru_text[:20]}")
    b = s + " "
    key = section_key(stype)
    known = key in _PRINTERS and not (key == "arm" and arch != "arm64") \
        and not (key == "ia32x64" and arch != "x86_64") \
        and not (key == "cxl_protocol" and not kv.has("cxl_protocol_printer"))
    if key in _CXL_EVENTS and kv.has("cxl_event_names"):
        lines.append(f"{b}section_type: {_CXL_EVENTS[key]}")
        return lines
    if not known:
        guid = SECTION_TYPES[key][0] if key else stype
        lines.append(f"{b}section type: unknown, {guid}")
        lines.append(f"{b}section length: {length:#x}")
        return lines + hexdump(b, view.dump(0, length), 4, True)
    title, printer = _PRINTERS[key]
    lines.append(f"{b}section_type: {title}")
    if length < MIN_LENGTH[key]:
        lines.append("[Firmware Warn]: error section length is too small")
        return lines
    return lines + printer(b, view, length, esev, kv)


def _fixed(key: str, view: View) -> dict:
    """The section's fixed structure read from the bytes (the kernel casts the pointer)."""
    from ..schemas.sections import BODIES
    layout = BODIES[key].layout
    past = view.past           # a short section's unused tail fields are not a read the kernel makes
    fields = layout.parse(view.get(0, layout.size), 0, "body")
    view.past = past
    return fields


# -- section printers (B = body prefix) -------------------------------------------------------

def _generic(b, view, length, sev, kv):
    body = _fixed("processor_generic", view)
    out = []
    names = {"processor_type": ["IA32/X64", "IA64", "ARM"],
             "processor_isa": ["IA32", "IA64", "X64", "ARM A32/T32", "ARM A64"],
             "operation": ["unknown or generic", "data read", "data write", "instruction execution"]}
    if _v(body, 0):
        t = body["processor_type"]
        out.append(f"{b}processor_type: {t}, {_name(names['processor_type'], t)}")
    if _v(body, 1):
        t = body["processor_isa"]
        out.append(f"{b}processor_isa: {t}, {_name(names['processor_isa'], t)}")
    if _v(body, 2):
        out.append(f"{b}error_type: 0x{body['error_type']:02x}")
        out += _bits_list(b, body["error_type"], ["cache error", "TLB error", "bus error",
                                                  "micro-architectural error"])
    if _v(body, 3):
        t = body["operation"]
        out.append(f"{b}operation: {t}, {_name(names['operation'], t)}")
    if _v(body, 4):
        out.append(f"{b}flags: 0x{body['flags']:02x}")
        out += _bits_list(b, body["flags"], ["restartable", "precise IP", "overflow", "corrected"])
    if _v(body, 5):
        out.append(f"{b}level: {body['level']}")
    for bit, field, label in [(6, "cpu_version", "version_info"), (8, "processor_id", "processor_id"),
                              (9, "target_address", "target_address"), (10, "requestor_id", "requestor_id"),
                              (11, "responder_id", "responder_id"), (12, "instruction_ip", "IP")]:
        if _v(body, bit):
            out.append(f"{b}{label}: 0x{body[field]:016x}")
    return out


def _name(names, i, default="unknown"):
    return names[i] if 0 <= i < len(names) else default


MEM_STATUS = {1: "Error detected internal to the component", 4: "Storage error in DRAM memory",
              5: "Storage error in TLB", 6: "Storage error in cache",
              7: "Error in one or more functional units", 8: "Component failed self test",
              9: "Overflow or undervalue of internal queue", 16: "Error detected in the bus",
              17: "Virtual address not found on IO-TLB or IO-PDIR", 18: "Improper access error",
              19: "Access to a memory address which is not mapped to any component",
              20: "Loss of Lockstep", 21: "Response not associated with a request",
              22: "Bus parity error - must also set the A, C, or D Bits",
              23: "Detection of a protocol error", 24: "Detection of a PATH_ERROR",
              25: "Bus operation timeout", 26: "A read was issued to data that has been poisoned"}


def _memory(b, view, length, sev, kv):
    from ..schemas.sections import MEMORY_ERROR_TYPES, PLATFORM_MEMORY
    body = _fixed("platform_memory", view)
    vb = parse_int(body["validation_bits"])
    if length == 73 and vb >> 15:
        return ["[Firmware Warn]: valid bits set for fields beyond structure"]
    out = []
    if vb & 0x1:
        es = body["error_status"]
        value = PLATFORM_MEMORY.field_int("error_status", es)
        if kv.has("mem_error_status_text"):
            out.append(f"{b} error_status: {MEM_STATUS.get(es['error_type'], 'Reserved')} (0x{value:016x})")
        else:
            out.append(f"{b}error_status: 0x{value:016x}")
    if vb & 0x2:
        out.append(f"{b}physical_address: 0x{body['physical_address']:016x}")
    if vb & 0x4:
        out.append(f"{b}physical_address_mask: 0x{body['physical_address_mask']:016x}")
    loc = ""
    ext = body["extended"]
    # "node:1 " since "reformat CPER memory error location"; "node: 1 " before
    sep = ":" if kv.has("mem_location_compact") else ": "
    items = [(0x8, f"node{sep}{body['node']} "), (0x10, f"card{sep}{body['card']} "),
             (0x20, f"module{sep}{body['module']} "), (0x8000, f"rank{sep}{body['rank_number']} "),
             (0x40, f"bank{sep}{body['bank']} "), (0x80000, f"bank_group{sep}{body['bank'] >> 8} "),
             (0x100000, f"bank_address{sep}{body['bank'] & 0xFF} "), (0x80, f"device{sep}{body['device']} ")]
    for bit, text in items:
        if vb & bit:
            loc += text
    if vb & (0x100 | 0x40000):
        row = body["row"] | ((ext & 3) << 16 if vb & 0x40000 else 0)
        loc += f"row{sep}{row} "
    tail = [(0x200, f"column{sep}{body['column']} "), (0x400, f"bit_position{sep}{body['bit_position']} "),
            (0x800, f"requestor_id{sep}0x{body['requestor_id']:016x} "),
            (0x1000, f"responder_id{sep}0x{body['responder_id']:016x} ")]
    if kv.has("mem_location_ids"):   # older kernels wrote these two past the length they returned
        tail += [(0x2000, f"target_id{sep}0x{body['target_id']:016x} "), (0x200000, f"chip_id{sep}{ext >> 5} ")]
    for bit, text in tail:
        if vb & bit:
            loc += text
    loc = loc[:255 if kv.has("mem_location_compact") else 254]   # CPER_REC_LEN, then CPER_REC_LEN - 1
    if loc:
        out.append(f"{b}{loc}")
    if vb & 0x4000:
        t = body["memory_error_type"]
        out.append(f"{b}error_type: {t}, {MEMORY_ERROR_TYPES.get(t, 'unknown')}")
    if vb & 0x20000:
        out.append(f"{b}DIMM location: not present. DMI handle: 0x{body['module_handle']:04x} ")
    return out


def _pcie(b, view, length, sev, kv):
    from ..schemas.sections import PCIE_PORT_TYPES
    body = _fixed("pcie", view)
    out = []
    if _v(body, 0):
        t = body["port_type"]
        out.append(f"{b}port_type: {s32(t)}, {PCIE_PORT_TYPES.get(t, 'unknown')}")   # "%d" of a u32
    if _v(body, 1):
        out.append(f"{b}version: {body['version']['major']}.{body['version']['minor']}")
    if _v(body, 2):
        out.append(f"{b}command: 0x{body['command']:04x}, status: 0x{body['status']:04x}")
    if _v(body, 3):
        d = body["device_id"]
        cc = d["class_code"].to_bytes(3, "little")
        out += [f"{b}device_id: {pci_name(d['segment'], d['primary_bus'], d['device'], d['function'])}",
                f"{b}slot: {d['slot'] >> 3}", f"{b}secondary_bus: 0x{d['secondary_bus']:02x}",
                f"{b}vendor_id: 0x{d['vendor_id']:04x}, device_id: 0x{d['device_id']:04x}",
                f"{b}class_code: {cc[2]:02x}{cc[1]:02x}{cc[0]:02x}"]
    if _v(body, 4):
        sn = body["serial_number"]
        out.append(f"{b}serial number: 0x{sn & 0xFFFFFFFF:04x}, 0x{sn >> 32:04x}")
    if _v(body, 5):
        br = body["bridge"]
        out.append(f"{b}bridge: secondary_status: 0x{br['secondary_status']:04x}, "
                   f"control: 0x{br['control']:04x}")
    # before "Print correctable AER information" only a section severity with bit 0 set (fatal,
    # and informational by the same bit test) printed the AER block, without the cor line
    if _v(body, 7) and (kv.has("aer_all_severities") or sev_int(sev) & 1):
        aer = bytes.fromhex(body["aer_info"])

        def dw(off):
            return int.from_bytes(aer[off:off + 4], "little")
        if kv.has("aer_all_severities"):
            out.append(f"{b}aer_cor_status: 0x{dw(16):08x}, aer_cor_mask: 0x{dw(20):08x}")
        out += [f"{b}aer_uncor_status: 0x{dw(4):08x}, aer_uncor_mask: 0x{dw(8):08x}",
                f"{b}aer_uncor_severity: 0x{dw(12):08x}",
                f"{b}TLP Header: {dw(28):08x} {dw(32):08x} {dw(36):08x} {dw(40):08x}"]
    return out


ARM_CACHE_OPS = ["Generic error (type cannot be determined)",
                 "Generic read (type of instruction or data request cannot be determined)",
                 "Generic write (type of instruction of data request cannot be determined)",
                 "Data read", "Data write", "Instruction fetch", "Prefetch", "Eviction",
                 "Snooping (processor initiated a cache snoop that resulted in an error)",
                 "Snooped (processor raised a cache error caused by another processor or device snooping its cache)",
                 "Management"]
ARM_TLB_OPS = ARM_CACHE_OPS[:7] + [
    "Local management operation (processor initiated a TLB management operation that resulted in an error)",
    "External management operation (processor raised a TLB error caused by another processor or device broadcasting TLB operations)"]
ARM_BUS_OPS = ARM_CACHE_OPS[:7]


def _arm(b, view, length, sev, kv):
    """cper_print_proc_arm, walking the bytes: error info at a fixed 32-byte stride, contexts by
    their own size fields (16-byte aligned once "Fix cper_arm_ctx_info alignment" is in), the
    vendor bytes from wherever the last context ended."""
    from ..schemas.sections import ARM_CONTEXT_TYPES
    vbits, n_info, n_ctx, sec_len = view.u(0, 4), view.u(4, 2), view.u(6, 2), view.u(8, 4)
    out = [f"{b}MIDR: 0x{view.u(24, 8):016x}"]
    # "int len = proc->section_length - (...)": the u32 difference lands in an int, so a length of
    # 2^31 and more is negative too, and "%d" prints the section length signed
    left = s32(sec_len - (40 + 32 * n_info))
    if left < 0:
        return out + [f"{b}section length: {s32(sec_len)}", f"{b}section length is too small",
                      f"{b}firmware-generated error record is incorrect", f"{b}ERR_INFO_NUM is {n_info}"]
    if vbits & 1:
        out.append(f"{b}Multiprocessor Affinity Register (MPIDR): 0x{view.u(16, 8):016x}")
    if vbits & 2:
        out.append(f"{b}error affinity level: {view.u(12, 1)}")
    if vbits & 4:
        out.append(f"{b}running state: 0x{view.u(32, 4):x}")
        out.append(f"{b}Power State Coordination Interface state: {s32(view.u(36, 4))}")   # "%d" of a u32
    e = b + " "
    bitmask = kv.has("arm_type_bitmask")
    for i in range(n_info):
        at = 40 + 32 * i
        if view.ends_before(at):
            break
        ivb, t, flags = view.u(at + 2, 2), view.u(at + 4, 1), view.u(at + 7, 1)
        out.append(f"{b}Error info structure {i}:")
        out.append(f"{b}num errors: {view.u(at + 5, 2) + 1}")
        if ivb & 2:
            for bit, text in enumerate(["first error captured", "last error captured",
                                        "propagated error captured",
                                        "overflow occurred, error info is incomplete"]):
                if flags >> bit & 1:
                    out.append(f"{e}{text}")
        if bitmask:
            names = "|".join(n for k, n in enumerate(ARM_ERROR_TYPES) if t >> (k + 1) & 1)
            out.append(f"{e}error_type: 0x{t:02x}: {names}{' with reserved bit(s)' if t & ~0x1E else ''}")
        else:
            out.append(f"{e}error_type: {t}, {_name(ARM_ERROR_TYPES, t)}")
        if ivb & 4:
            info = view.u(at + 8, 8)
            out.append(f"{e}error_info: 0x{info:016x}")
            out += _arm_error_info(e + " ", t, info, bitmask)
        if ivb & 8:
            out.append(f"{e}virtual fault address: 0x{view.u(at + 16, 8):016x}")
        if ivb & 16:
            out.append(f"{e}physical fault address: 0x{view.u(at + 24, 8):016x}")
    at = 40 + 32 * n_info
    for j in range(n_ctx):
        if view.ends_before(at):
            return out
        ctx_type, ctx_size = view.u(at + 2, 2), view.u(at + 4, 4)
        size = s32(8 + ctx_size)
        if kv.has("arm_ctx_align"):
            size = s32((8 + ctx_size + 15) // 16 * 16)
        out.append(f"{b}Context info structure {j}:")
        if left < size:
            out += [f"{e}section length is too small", f"{b}firmware-generated error record is incorrect"]
            return out
        if ctx_type > 8:
            out.append(f"{e}Invalid context type: {ctx_type} (max: 8)")
            return out
        out.append(f"{e}register context type: {ARM_CONTEXT_TYPES[ctx_type]}")
        out += hexdump(e, view.dump(at + 8, ctx_size), 4, False)
        left -= size
        at += size
    if left > 0:
        out.append(f"{b}Vendor specific error info has {left} bytes:")
        out += hexdump(e, view.dump(at, left), 4, True)
    return out


ARM_ERROR_TYPES = ["cache error", "TLB error", "bus error", "micro-architectural error"]


def _arm_error_info(i, t, info, bitmask=False):
    """cper_print_arm_err_info: `t` an enumeration (0 cache, 1 TLB, 2 bus, 3 vendor) before "align
    ARM CPER type with UEFI 2.9A/2.10 specs", a bit mask (bit 1 cache, 2 TLB, 3 bus, 4 vendor) after;
    the bit-mask printer names the kind on each operation line and prints one per bit set."""
    if bitmask:
        if t & 0x10:
            return []
        kinds = [k for k in range(3) if t >> (k + 1) & 1]
    else:
        if t > 2:
            return []
        kinds = [t]
    out = []

    def bit(n):
        return info >> n & 1
    if bit(0):
        tt = info >> 16 & 3
        if tt < 3:
            out.append(f"{i}transaction type: {['Instruction', 'Data Access', 'Generic'][tt]}")
    if bit(1):
        op = info >> 18 & 0xF
        for k in kinds:
            ops = [ARM_CACHE_OPS, ARM_TLB_OPS, ARM_BUS_OPS][k]
            if op < len(ops):
                kind = f"{ARM_ERROR_TYPES[k].replace(' error', '')} error, " if bitmask else ""
                out.append(f"{i}{kind}operation type: {ops[op]}")
    if bit(2):
        lvl = info >> 22 & 7
        for k in kinds:
            out.append(f"{i}" + ["cache level: ", "TLB level: ",
                                 "affinity level at which the bus error occurred: "][k] + str(lvl))
    if bit(3):
        out.append(f"{i}processor context " + ("corrupted" if info >> 25 & 1 else "not corrupted"))
    if bit(4):
        out.append(f"{i}the error has " + ("been corrected" if info >> 26 & 1 else "not been corrected"))
    if bit(5):
        out.append(f"{i}PC is " + ("precise" if info >> 27 & 1 else "imprecise"))
    if bit(6) and info >> 28 & 1:
        out.append(f"{i}Program execution can be restarted reliably at the PC associated with the error.")
    if 2 in kinds:
        if bit(7):
            out.append(f"{i}participation type: " + ["Local processor originated request",
                                                     "Local processor responded to request",
                                                     "Local processor observed", "Generic"][info >> 29 & 3])
        if bit(8) and info >> 31 & 1:
            out.append(f"{i}request timed out")
        if bit(9):
            out.append(f"{i}address space: " + ["External Memory Access", "Internal Memory Access",
                                                 "Unknown", "Device Memory Access"][info >> 32 & 3])
        if bit(10):
            out.append(f"{i}memory access attributes:0x{info >> 34 & 0x1FF:x}")
        if bit(11):
            out.append(f"{i}access mode: " + ("normal" if info >> 43 & 1 else "secure"))
    return out


def _ia32(b, view, length, sev, kv):
    """cper_print_proc_ia, walking the bytes: the counts come from the validation bits and nothing
    is checked against the length, so contexts past the section are read from what follows it;
    contexts are back to back until "Fix cper_ia_proc_ctx alignment" (16-byte aligned after)."""
    import uuid
    from ..guids import IA32X64_CHECK_TYPES
    from ..schemas.sections import IA32_CONTEXT_TYPES
    out = []
    vb = view.u(0, 8)
    if vb & 1:
        out.append(f"{b}Local APIC_ID: 0x{view.u(8, 8):x}")
    if vb & 2:
        out.append(f"{b}CPUID Info:")
        out += hexdump(b, view.get(16, 48), 4, False)
    e = b + " "
    kinds = {g: k for k, (g, _t) in IA32X64_CHECK_TYPES.items()}
    titles = {"cache": "cache error", "tlb": "TLB error", "bus": "bus error", "ms": "micro-architectural error"}
    at = 64
    for n in range(vb >> 2 & 0x3F):
        if view.ends_before(at):
            return out
        guid = str(uuid.UUID(bytes_le=view.get(at, 16)))
        out.append(f"{b}Error Information Structure {n}:")
        kind = kinds.get(guid)
        out.append(f"{e}Error Structure Type: {titles.get(kind, 'unknown')}")
        if kind is None:
            out.append(f"{e}Error Structure Type: {guid}")
        v = view.u(at + 16, 8)
        if v & 1:
            check = view.u(at + 24, 8)
            out.append(f"{e}Check Information: 0x{check:016x}")
            if kind:
                out += _ia32_check(e + " ", kind, check)
        for bit, label in [(1, "Target Identifier"), (2, "Requestor Identifier"),
                           (3, "Responder Identifier"), (4, "Instruction Pointer")]:
            if v >> bit & 1:
                out.append(f"{e}{label}: 0x{view.u(at + 24 + 8 * bit, 8):016x}")
        at += 64
    for n in range(vb >> 8 & 0x3F):
        if view.ends_before(at):
            return out
        t, size = view.u(at, 2), view.u(at + 2, 2)
        out.append(f"{b}Context Information Structure {n}:")
        out.append(f"{e}Register Context Type: {IA32_CONTEXT_TYPES.get(t, 'unknown')}")
        out.append(f"{e}Register Array Size: 0x{size:04x}")
        if t == 1:
            out.append(f"{e}MSR Address: 0x{view.u(at + 4, 4):08x}")
        if t == 7:
            out.append(f"{e}MM Register Address: 0x{view.u(at + 8, 8):016x}")
        out.append(f"{e}Register Array:")
        out += hexdump(e, view.dump(at + 16, size), 8 if t == 1 else 4, False)
        at += (16 + size + 15) // 16 * 16 if kv.has("ia32_ctx_align") else 16 + size
    return out


def _ia32_check(i, kind, check):
    out = []

    def valid(n):
        return check >> n & 1

    def tf(v):
        return "true" if v else "false"
    if kind == "ms":
        if valid(0):
            t = check >> 16 & 7
            out.append(f"{i}Error Type: {t}, " + _name(["No Error", "Unclassified", "Microcode ROM Parity Error",
                                                        "External Error", "FRC Error",
                                                        "Internal Unclassified"], t))
        bools = [(1, 19, "Processor Context Corrupt"), (2, 20, "Uncorrected"), (3, 21, "Precise IP"),
                 (4, 22, "Restartable IP"), (5, 23, "Overflow")]
    else:
        if valid(0):
            t = check >> 16 & 3
            out.append(f"{i}Transaction Type: {t}, {_name(['Instruction', 'Data Access', 'Generic'], t)}")
        if valid(1):
            op = check >> 18 & 0xF
            limit = 9 if kind == "cache" else 7
            ops = ["generic error", "generic read", "generic write", "data read", "data write",
                   "instruction fetch", "prefetch", "eviction", "snoop"]
            out.append(f"{i}Operation: {op}, {ops[op] if op < limit else 'unknown'}")
        if valid(2):
            out.append(f"{i}Level: {check >> 22 & 7}")
        bools = [(3, 25, "Processor Context Corrupt"), (4, 26, "Uncorrected"), (5, 27, "Precise IP"),
                 (6, 28, "Restartable IP"), (7, 29, "Overflow")]
    for vbit, fbit, label in bools:
        if valid(vbit):
            out.append(f"{i}{label}: {tf(check >> fbit & 1)}")
    if kind == "bus":
        if valid(8):
            p = check >> 30 & 3
            out.append(f"{i}Participation Type: {p}, " + ["Local Processor originated request",
                                                          "Local Processor responded to request",
                                                          "Local Processor observed", "Generic"][p])
        if valid(9):
            out.append(f"{i}Time Out: {tf(check >> 32 & 1)}")
        if valid(10):
            a = check >> 33 & 3
            out.append(f"{i}Address Space: {a}, " + ["Memory Access", "Reserved", "I/O",
                                                     "Other Transaction"][a])
    return out


def _firmware(b, view, length, sev, kv):
    from ..schemas.sections import FIRMWARE_RECORD_TYPES
    body = _fixed("firmware_error_record", view)
    out = [f"{b}Firmware Error Record Type: {FIRMWARE_RECORD_TYPES.get(body['record_type'], 'unknown')}",
           f"{b}Revision: {body['revision']}"]
    if body["revision"] == 0:
        out.append(f"{b}Record Identifier: {body['record_identifier']:08x}")
    elif body["revision"] == 2:
        out.append(f"{b}Record Identifier: {body['record_identifier_guid']}")
    start = {0: 16, 1: 8}.get(body["revision"], 32)
    # the kernel's length arithmetic can underflow for short rev>=2 records; we clamp
    return out + hexdump(b, view.dump(start, max(0, length - start)), 4, True)


CXL_AGENTS = ["Restricted CXL Device", "Restricted CXL Host Downstream Port", "CXL Device",
              "CXL Logical Device", "CXL Fabric Manager managed Logical Device", "CXL Root Port",
              "CXL Downstream Switch Port", "CXL Upstream Switch Port"]


def _cxl_protocol(b, view, length, sev, kv):
    body = _fixed("cxl_protocol", view)
    out = []
    agent = body["agent_type"]
    dev_types = (0, 2, 3, 4, 5, 6, 7)
    if _v(body, 0):
        out.append(f"{b} agent_type: {agent}, {_name(CXL_AGENTS, agent)}")
    if _v(body, 1):
        a = body["agent_address"]
        if agent == 1:
            out.append(f"{b} rcrb_base_address: 0x{a:016x}")
        elif agent in dev_types:
            out.append(f"{b} agent_address: {cxl_agent_name(a)}")
    if _v(body, 2) and agent in dev_types:
        d = body["device_id"]
        cc = d["class_code"].to_bytes(2, "little")
        out += [f"{b} slot: {d['slot'] >> 3}",
                f"{b} vendor_id: 0x{d['vendor_id']:04x}, device_id: 0x{d['device_id']:04x}",
                f"{b} sub_vendor_id: 0x{d['subsystem_vendor_id']:04x}, sub_device_id: 0x{d['subsystem_id']:04x}",
                f"{b} class_code: {cc[1]:02x}{cc[0]:02x}"]
    if _v(body, 3) and agent in (0, 2, 3, 4):
        sn = body["serial_number"]
        out.append(f"{b} lower_dw: 0x{sn & 0xFFFFFFFF:08x}, upper_dw: 0x{sn >> 32:08x}")
    if _v(body, 4) and agent in dev_types:
        out += hexdump(b, bytes.fromhex(body["capability"]), 4, False)
    if _v(body, 5):
        out += [f"{b} DVSEC length: 0x{body['dvsec_length']:04x}", f"{b} CXL DVSEC:"]
        out += hexdump(b, view.dump(116, body["dvsec_length"]), 4, False)
    if _v(body, 6):
        # the RAS capability is read whole (88 bytes) after the DVSEC, whatever the log length says
        log = view.get(116 + body["dvsec_length"], 88)

        def dw(o):
            return int.from_bytes(log[o:o + 4], "little")
        out += [f"{b} Error log length: 0x{body['error_log_length']:04x}", f"{b} CXL Error Log:",
                # two format strings lack their "\n", yet each pr_info is its own record: since the
                # printk rework only KERN_CONT continues a line (seen on 6.12 under apeitool vm)
                f"{b} cxl_ras_uncor_status: 0x{dw(0):08x}", f"{b} cxl_ras_uncor_mask: 0x{dw(4):08x}",
                f"{b} cxl_ras_uncor_severity: 0x{dw(8):08x}",
                f"{b} cxl_ras_cor_status: 0x{dw(12):08x}", f"{b} cxl_ras_cor_mask: 0x{dw(16):08x}",
                f"{b} cap_control: 0x{dw(20):08x}", f"{b} Header Log Registers:"]
        out += hexdump(b, log[24:88], 4, False)
    return out


_PRINTERS = {
    "processor_generic": ("general processor error", _generic),
    "platform_memory": ("memory error", _memory),
    "pcie": ("PCIe error", _pcie),
    "arm": ("ARM processor error", _arm),
    "ia32x64": ("IA32/X64 processor error", _ia32),
    "firmware_error_record": ("Firmware Error Record Reference", _firmware),
    "cxl_protocol": ("CXL Protocol Error", _cxl_protocol),
}


def _block_status_set(block: dict) -> bool:
    bs = block.get("block_status")
    if isinstance(bs, dict):
        return any(v for k, v in bs.items())
    return bool(bs)


def s32(value: int) -> int:
    """A u32 printed with %d: the kernel shows values >= 2^31 as negative."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >> 31 else value


class ItemPrinter:
    """The kernel's lines item by item (a record, status block or section at a time), numbered
    {1}, {2}... across the input as the kernel's sequence numbers would be."""

    def __init__(self, form: str, arch: str = "arm64", source_id: int = 0, version=None,
                 warn: Optional[Callable[[str], None]] = None):
        self.form, self.arch, self.source_id, self.version, self.warn = form, arch, source_id, version, warn
        self.n = 0

    def item(self, model: dict) -> List[str]:
        if self.form == "estatus":
            if not _block_status_set(model):
                return []   # ghes_read_estatus: block_status 0 is "no record" (-ENOENT), nothing printed
            self.n += 1
            return render_block(model, self.source_id, self.n, self.arch, self.version, warn=self.warn)
        self.n += 1
        if self.form == "record":
            return render_record(model, self.n, self.arch, self.version, self.warn)
        from ..cper.body import build_body
        pfx = f"{{{self.n}}}{HW_ERR}"
        d = model["descriptor"]
        raw = b"" if model.get("body") is None else build_body(d["section_type"], model["body"])
        view = View(raw)
        lines = _section(pfx + " ", 0, d["section_type"], view, len(raw), d["section_severity"],
                         d["validation_bits"], d["fru_id"], d["fru_text"], None, 0, self.arch,
                         kernel_version(self.version))
        if view.past and self.warn is not None:
            self.warn(f"section {self.n}: the kernel's printer reads {view.past} bytes past the end of the "
                      f"section here; what it prints for them depends on memory (shown as zeros)")
        return lines


def document(doc: dict, arch: str = "arm64", source_id: int = 0, version=None,
             warn: Optional[Callable[[str], None]] = None) -> str:
    from ..cper import FORMS
    printer = ItemPrinter(doc["form"], arch, source_id, version, warn)
    lines = [line for item in doc[FORMS[doc["form"]]] for line in printer.item(item)]
    return "\n".join(lines) + "\n" if lines else ""
