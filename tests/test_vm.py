"""apeitool vm: real Linux kernels under QEMU as the oracle for replay and --format kernel.

The boot tests need qemu-system-x86, busybox-static and the kernels in the cache
(`apeitool vm kernels --fetch 5.10 6.1 6.12 7.2`, as .ci/run does); without them they skip with
the reason. The other tests check the pieces without booting."""
import json
import os
import random
import shutil
import sys

import pytest
from click.testing import CliRunner

import apeitool
from apeitool.cli import main
from apeitool.errors import InputError
from apeitool.replay.stream import Event
from apeitool.vm import KNOWN_DIFFERENCES, compare, normalise, split_console
from apeitool.vm.guest import guest_script
from apeitool.vm.initramfs import newc
from apeitool.vm.kernels import cached, is_kernel_image
from apeitool.vm.plan import add_events, lay_out, relocate

SERIES = ("5.10", "6.1", "6.12", "7.2")
HEST = {"sources": [
    {"type": "GHES", "source_id": 1, "error_status_address": {"address": 0x1F000000},
     "error_status_block_length": 0x2000, "notify": {"type": "POLLED", "poll_interval": 300}},
    {"type": "GHES_V2", "source_id": 2, "error_status_address": {"address": 0x1F000008},
     "error_status_block_length": 0x2000, "notify": {"type": "NMI"},
     "read_ack_register": {"address": 0x1F000010}}]}


def _block(key, body, sev="recoverable"):
    return apeitool.build({"form": "estatus", "blocks": [{
        "block_status": {"correctable": sev == "corrected", "uncorrectable": sev != "corrected"},
        "error_severity": sev, "entries": [{"section_type": key, "error_severity": sev, "revision": 0x300,
                                            "body": body}]}]}, "estatus")


# -- pieces, no QEMU -------------------------------------------------------------------------------------

def test_newc_archive_layout():
    raw = newc({"init": "#!/bin/sh\n", "data/x.bin": b"\x01\x02\x03"}, ["data"])
    assert raw.startswith(b"070701") and len(raw) % 512 == 0
    names, pos = [], 0
    while True:
        head = raw[pos:pos + 110]
        namesize, filesize = int(head[94:102], 16), int(head[54:62], 16)
        name = raw[pos + 110:pos + 110 + namesize - 1].decode()
        names.append(name)
        pos = (pos + 110 + namesize + 3) & ~3
        pos = (pos + filesize + 3) & ~3
        if name == "TRAILER!!!":
            break
    assert names == ["data", "init", "data/x.bin", "TRAILER!!!"]


def test_plan_lays_out_as_replay_and_scripts_the_firmware():
    plan = lay_out(HEST)
    assert plan.window[0] == 0x1F000000 and plan.append.startswith("memmap=0x") and "$0x1f000000" in plan.append
    blk = _block("platform_memory", {"physical_address": 0x10000})
    add_events(plan, [Event(0.0, "write", 1, data=blk), Event(1.0, "write_notify", 2, notify=4, data=blk),
                      Event(2.0, "notify", None, notify=3)])
    script = guest_script(plan, 0.5)
    s2 = plan.sources[2]
    assert f"seek={s2.block}" in script and f"devmem {s2.ack_reg:#x} 64" in script   # ack taken back
    assert "ask NMI 1" in script and script.index("mark EVENT 1") < script.index("ask NMI 1")
    assert plan.undelivered and "SCI" in plan.undelivered[0]["why"]       # x86 TCG cannot raise SCI
    assert plan.image[:8] == plan.sources[1].block.to_bytes(8, "little")    # source 1's register at 0x1F000000
    assert plan.image[0x10:0x18] == (1).to_bytes(8, "little")              # GHESv2 ack starts acknowledged


def test_registers_outside_guest_ram_need_relocate():
    far = {"sources": [dict(HEST["sources"][0], error_status_address={"address": 0xFE000000})]}
    with pytest.raises(InputError, match="use --relocate"):
        lay_out(far)
    moved = relocate(far)
    assert moved["sources"][0]["error_status_address"]["address"] == 0x1F000000
    assert lay_out(moved).window[0] == 0x1F000000


def test_console_split_and_normalise():
    lines = ["[    0.70] HEST: Table parsing has been initialized.", "[    0.71] random: crng init",
             "[    1.00] @@APEITOOL EVENT 0", "[    1.20] {3}[Hardware Error]: event severity: corrected",
             "[    1.21] INFO: NMI handler (ghes_notify_nmi) took too long to run: 1.6 msecs",
             "[    1.30] mce: [Hardware Error]: PROCESSOR 2:60fb1 TIME 1796405434 SOCKET 0"]
    parts = split_console(lines)
    assert parts["boot"] == ["HEST: Table parsing has been initialized."]
    assert parts["events"][0][0] == "{3}[Hardware Error]: event severity: corrected"
    assert parts["dropped"][0]["line"].startswith("INFO: NMI handler")
    assert normalise(parts["events"][0][1]).endswith("TIME * SOCKET 0")
    found = compare({"boot": [], "events": {0: parts["events"][0]}},
                    {"boot": [], "events": {0: ["{7}[Hardware Error]: event severity: corrected"]}}, 1, "6.12")
    assert found["differences"] == [] and found["explained"][0]["line"].startswith("mce:")


def test_known_differences_name_their_kernels():
    for side, rx, only, why in KNOWN_DIFFERENCES:
        assert side in ("kernel", "model") and why and (only is None or only <= set(SERIES))


def test_not_a_kernel_and_missing_qemu_are_one_line(tmp_path, monkeypatch):
    fake = tmp_path / "vmlinuz"
    fake.write_bytes(b"not a kernel" * 100)
    assert not is_kernel_image(str(fake), "x86_64")
    (tmp_path / "h.aml").write_bytes(apeitool.build(HEST, "hest"))
    (tmp_path / "ev.jsonl").write_text('{"at": 0, "event": "tick"}\n')
    runner = CliRunner()
    out = runner.invoke(main, ["vm", "--hest", str(tmp_path / "h.aml"), "--kernel", str(fake), str(tmp_path / "ev.jsonl")])
    assert out.exit_code == 2 and "not a x86_64 kernel image" in out.stderr
    monkeypatch.setattr(shutil, "which", lambda name: None)
    if cached("x86_64"):
        out = runner.invoke(main, ["vm", "--hest", str(tmp_path / "h.aml"), str(tmp_path / "ev.jsonl")])
        assert out.exit_code == 2 and "Debian package qemu-system-x86" in out.stderr
    out = runner.invoke(main, ["vm", str(tmp_path / "ev.jsonl")])
    assert out.exit_code == 2 and "--hest" in out.stderr


# -- the oracle: real kernels ------------------------------------------------------------------------------

def _kernel_or_skip(series):
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    if not os.path.exists("/bin/busybox"):
        pytest.skip("busybox-static is not installed")
    if not any(k.series == series for k in cached("x86_64")):
        pytest.skip(f"kernel {series} not cached: apeitool vm kernels --fetch {series}")


def every_kind_events(seed=11, spacing=2.6):
    """One record of every section kind the project builds, alternating a polled GHES and an NMI
    GHESv2, severities alternating so each print ratelimit class sees one record per 5.2 s."""
    from apeitool.gen import section_body
    from apeitool.schemas.sections import BODIES
    rng = random.Random(seed)
    events = []
    for i, key in enumerate(sorted(BODIES)):
        sev = "corrected" if i % 2 else "recoverable"
        block = _block(key, section_body(key, rng), sev)
        events.append(Event(round(i * spacing, 3), "write" if i % 2 else "write_notify", 1 if i % 2 else 2,
                            notify=None if i % 2 else 4, data=block))
    return events


@pytest.mark.vm
@pytest.mark.parametrize("series", SERIES)
def test_every_record_kind_prints_as_the_model_says(series, tmp_path):
    """--format kernel and replay against the real kernel: every record kind, polled and NMI."""
    _kernel_or_skip(series)
    from apeitool.vm import run
    events = every_kind_events()
    result = run(HEST, events, series, do_compare=True, timeout=300, console=str(tmp_path / "console.txt"))
    assert result["status"] == "ok", (tmp_path / "console.txt").read_text()[-3000:]
    assert result["differences"] == [], json.dumps(result["differences"], indent=1)
    printed = sum(1 for e in result["events"] if any("[Hardware Error]" in l for l in e["lines"]))
    assert printed == len(events)              # nothing throttled or lost: the oracle saw every record


@pytest.mark.vm
@pytest.mark.parametrize("series", SERIES)
def test_ghesv2_ack_cache_and_spurious_nmi(series, tmp_path):
    """GHESv2 read-ack seen in the register, the estatus cache throttling a repeat, a spurious NMI."""
    _kernel_or_skip(series)
    from apeitool.vm import run
    a = _block("platform_memory", {"physical_address": 0x10000, "memory_error_type": 0}, "corrected")
    b = _block("processor_generic", {"processor_type": 0, "level": 1}, "corrected")
    events = [Event(0.0, "write_notify", 2, notify=4, data=a),
              Event(1.0, "write_notify", 2, notify=4, data=a),      # same record: cached, not printed
              Event(2.0, "notify", None, notify=4),                  # nothing pending: unknown NMI
              Event(3.0, "write", 1, data=b)]                        # polled
    result = run(HEST, events, series, do_compare=True, timeout=120, console=str(tmp_path / "console.txt"))
    assert result["status"] == "ok"
    assert result["differences"] == [], json.dumps(result["differences"], indent=1)
    lines = [e["lines"] for e in result["events"]]
    assert any("Generic Hardware Error Source: 2" in l for l in lines[0]) and \
        not any("[Hardware Error]" in l for l in lines[1])
    assert any("Uhhuh. NMI received for unknown reason" in l for l in lines[2])
    assert result["acked"][2] & 1 and result["block_status"] == {1: 0, 2: 0}


@pytest.mark.vm
@pytest.mark.parametrize("series", SERIES)
def test_fatal_record_panics_as_the_model_says(series, tmp_path):
    _kernel_or_skip(series)
    from apeitool.vm import run
    fatal = _block("platform_memory", {"physical_address": 0x10000}, "fatal")
    result = run(HEST, [Event(0.0, "write_notify", 2, notify=4, data=fatal)], series, do_compare=True,
                 timeout=120)
    assert result["status"] == "panic" and result["panicked"]
    assert "Kernel panic - not syncing: GHES: Fatal hardware error" in "\n".join(result["log"]) or \
        any("Fatal hardware error" in l for l in result["events"][0]["lines"])
    assert result["differences"] == [], json.dumps(result["differences"], indent=1)


@pytest.mark.vm
def test_bert_region_prints_as_decode_says(tmp_path):
    series = "6.1"
    _kernel_or_skip(series)
    from apeitool.cper.bert import walk_region
    region = b"".join(_block(k, b, "corrected") for k, b in (
        ("platform_memory", {"physical_address": 0x2000}), ("processor_generic", {"level": 2}))) + bytes(64)
    bert = apeitool.build({"boot_error_region_length": len(region), "boot_error_region_address": 0x1F100000},
                          "bert")
    (tmp_path / "bert.aml").write_bytes(bert)
    (tmp_path / "region.bin").write_bytes(region)
    out = CliRunner().invoke(main, ["vm", "--bert", str(tmp_path / "bert.aml"), "--region",
                                    str(tmp_path / "region.bin"), "--kernel", series, "-f", "json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    expected, _ = walk_region(region, len(region), "x86_64")
    assert [normalise(l) for l in result["boot"]] == [normalise(l) for l in expected]
    assert result["differences"] == []


def _arm64_or_skip(series="6.12"):
    if shutil.which("qemu-system-aarch64") is None or not os.path.exists("/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"):
        pytest.skip("qemu-system-arm / qemu-efi-aarch64 are not installed")
    if not any(k.series == series for k in cached("arm64")):
        pytest.skip(f"arm64 kernel {series} not cached: apeitool vm kernels --fetch {series} --arch arm64")


@pytest.mark.vm
def test_arm64_records_pending_at_boot_print_as_decode_says(tmp_path):
    """arm64 (UEFI, table upgrade): memory, generic processor, Arm RAS and PCIe records pending in
    four GHES print as `decode --format kernel --arch arm64` says, the print ratelimit included."""
    _arm64_or_skip()
    from apeitool.gen import section_body
    from apeitool.vm import run
    rng = random.Random(5)
    recs = [("platform_memory", {"physical_address": 0x40000000, "node": 1, "card": 2}, "recoverable"),
            ("processor_generic", {"processor_type": 1, "level": 2, "target_address": 0x1234}, "corrected"),
            ("arm_ras", section_body("arm_ras", rng), "corrected"),
            ("pcie", {"port_type": 4, "command": 7}, "recoverable"),
            ("platform_memory", {"physical_address": 0x50000000}, "recoverable")]   # a third: ratelimited
    hest = {"sources": [{"type": "GHES", "source_id": i, "error_status_address": {"address": 0x1000 + 8 * i},
                         "error_status_block_length": 0x1000, "notify": {"type": "POLLED", "poll_interval": 1000}}
                        for i in range(len(recs))]}
    events = [Event(0.0, "write", i, data=_block(k, b, s)) for i, (k, b, s) in enumerate(recs)]
    events.append(Event(1.0, "write", 0, data=_block("platform_memory", {"physical_address": 0x1000})))
    result = run(hest, events, "6.12", "arm64", True, timeout=240, console=str(tmp_path / "console.txt"))
    assert result["status"] == "ok", (tmp_path / "console.txt").read_text()[-3000:]
    assert result["differences"] == [], json.dumps(result["differences"], indent=1)
    assert sum("Hardware error from APEI" in l for l in result["boot"]) == 4
    assert [u["event"] for u in result["undelivered"]] == [5]           # the second write to source 0


def test_arm64_refuses_ghesv2(monkeypatch):
    from apeitool.vm import arm64
    from apeitool.vm.kernels import Kernel
    monkeypatch.setattr("apeitool.vm.kernels.busybox", lambda arch, progress=None: "/bin/sh")
    with pytest.raises(InputError, match="read-only"):
        arm64.run(HEST, [], Kernel("x", "6.12", "arm64", "/nonexistent"))


@pytest.mark.vm
def test_erst_device_table_and_pstore_across_a_reboot():
    """QEMU's acpi-erst: the kernel initialises ERST, pstore registers it, QEMU's ERST decodes and
    validates clean, and the panic pstore wrote in boot 1 is read back in boot 2."""
    _kernel_or_skip("6.1")
    from apeitool.vm import erst
    from apeitool.vm.kernels import find
    r = erst.run(find("6.1", "x86_64"), timeout=180)
    assert r["status"] == "ok" and r["panicked"]
    assert "ERST: Error Record Serialization Table (ERST) support is initialized." in r["boot"]
    assert any("Registered erst as persistent store backend" in l for l in r["boot"])
    assert r["erst_table"]["decoded"]["entries"] > 0 and r["erst_table"]["decoded"]["warnings"] == []
    assert [f for f in r["erst_table"]["findings"] if f["severity"] == "error"] == []
    assert any(p.startswith("dmesg-erst-") for p in r["pstore_after_reboot"])
    assert any("sysrq triggered crash" in l for l in r["pstore_panic_lines"])


@pytest.mark.vm
@pytest.mark.parametrize("series", ["6.1", "7.2"])
def test_signed_format_and_empty_block_as_the_kernel_prints(series, tmp_path):
    """A u32 printed with %d (PCIe port_type >= 2^31) and a record whose block_status is 0."""
    _kernel_or_skip(series)
    from apeitool.vm import run
    pcie = _block("pcie", {"port_type": 0x80000004, "command": 7}, "corrected")
    empty = bytes(4) + _block("platform_memory", {"physical_address": 0x3000}, "corrected")[4:]
    events = [Event(0.0, "write_notify", 2, notify=4, data=pcie), Event(1.0, "write", 1, data=empty)]
    result = run(HEST, events, series, do_compare=True, timeout=120, console=str(tmp_path / "console.txt"))
    assert result["status"] == "ok" and result["differences"] == [], json.dumps(result["differences"], indent=1)
    assert any("port_type: -2147483644, unknown" in l for l in result["events"][0]["lines"])
    assert result["events"][1]["lines"] == []


@pytest.mark.vm
def test_register_at_address_zero_is_refused_as_the_model_says():
    series = SERIES[-1]
    _kernel_or_skip(series)
    from apeitool.vm import run
    hest = {"sources": [dict(HEST["sources"][0], error_status_address={"address": 0}),
                        dict(HEST["sources"][0], source_id=2, error_status_address={"address": 0x1F000008})]}
    blk = _block("platform_memory", {"physical_address": 0x5000}, "corrected")
    result = run(hest, [Event(0.0, "write", 2, data=blk), Event(1.0, "write", 1, data=blk)], series,
                 do_compare=True, timeout=120)
    assert "[Firmware Bug]: APEI: Invalid physical address in GAR [0x0/64/0/4/0]" in result["boot"]
    assert result["differences"] == [], json.dumps(result["differences"], indent=1)
    assert any("Source: 2" in l for l in result["events"][0]["lines"]) and result["events"][1]["lines"] == []


@pytest.mark.vm
def test_timeout_kills_the_guest_and_leaves_no_qemu(tmp_path):
    import subprocess
    _kernel_or_skip(SERIES[-1])
    (tmp_path / "h.aml").write_bytes(apeitool.build(HEST, "hest"))
    # the stream lasts 60 s of guest time, so a 5 s limit always cuts the run, however fast the boot
    (tmp_path / "ev.jsonl").write_text('{"at": 0, "event": "tick"}\n{"at": 60, "event": "tick"}\n')

    def guests():   # QEMU runs with its files in a private apeitool-vm-* folder
        return set(subprocess.run(["pgrep", "-f", "qemu-system.*apeitool-vm-"], capture_output=True,
                                  text=True).stdout.split())
    before = guests()
    proc = subprocess.run([sys.executable, "-m", "apeitool", "vm", "--hest", str(tmp_path / "h.aml"), "--timeout", "5",
                           "--console", str(tmp_path / "console.txt"), str(tmp_path / "ev.jsonl")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "did not finish (timeout)" in proc.stderr
    assert (tmp_path / "console.txt").read_text().strip()            # the console is kept
    assert guests() - before == set()


# -- --kernel-version against each real kernel ------------------------------------------------------------

def _ia32_raw(ctx_sizes, pad):
    """An IA32/X64 section by hand: one cache check, contexts of the given register-array sizes,
    padded to 16 bytes as UEFI says (pad) or back to back."""
    import struct
    import uuid
    out = struct.pack("<QQ", (1 << 2) | (len(ctx_sizes) << 8) | 1, 0x12) + bytes(range(48))
    out += uuid.UUID("a55701f5-e3ef-43de-ac72-249b573fad2c").bytes_le + struct.pack("<QQQQQQ", 1, 0x10001, 0, 0, 0, 0)
    for i, n in enumerate(ctx_sizes):
        ctx = struct.pack("<HHIQ", 2 if i == 0 else 0, n, 0, 0) + bytes((0x40 + 16 * i + j) & 0xFF for j in range(n))
        out += ctx + (bytes(-len(ctx) % 16) if pad else b"")
    return out


def version_sensitive_events(spacing=2.6):
    """Records whose lines differ between kernel releases (see kernel_versions.CHANGES)."""
    mem = {"validation_bits": 0x3FFFFF, "error_status": 0x0400, "physical_address": 0x12345000,
           "physical_address_mask": 0xFFFFFFFFFFFFF000, "node": 1, "card": 2, "module": 3, "bank": 0x0304,
           "device": 5, "row": 6, "column": 7, "bit_position": 8, "requestor_id": 9, "responder_id": 10,
           "target_id": 11, "memory_error_type": 2, "extended": 0xA5, "rank_number": 12, "card_handle": 13,
           "module_handle": 14}
    pcie = {"validation_bits": 0xFF, "port_type": 4, "version": {"minor": 1, "major": 3, "reserved": 0},
            "command": 7, "status": 0x10, "reserved": 0,
            "device_id": {"vendor_id": 0x8086, "device_id": 0x1234, "class_code": 0x060400, "function": 1,
                          "device": 2, "segment": 0, "primary_bus": 3, "secondary_bus": 4, "slot": 0x28,
                          "reserved": 0},
            "serial_number": 0x1122334455667788, "bridge": {"secondary_status": 1, "control": 2},
            "capability": bytes(60).hex(), "aer_info": bytes(range(96)).hex()}
    info = apeitool.build({"form": "estatus", "blocks": [{
        "block_status": {"correctable": False, "uncorrectable": True}, "error_severity": "recoverable",
        "entries": [{"section_type": "pcie", "error_severity": "informational", "revision": 0x300, "body": pcie}]}]},
        "estatus")
    blocks = [_block("platform_memory", mem), _block("pcie", pcie, "corrected"), info,
              _block("ia32x64", {"data": _ia32_raw([8, 24], False).hex()}, "corrected"),
              _block("ia32x64", {"data": _ia32_raw([8, 24], True).hex()})]
    return [Event(round(i * spacing, 3), "write", 1, data=b) for i, b in enumerate(blocks)]


@pytest.mark.vm
@pytest.mark.parametrize("series", SERIES)
def test_version_sensitive_records_print_as_that_kernel_prints(series, tmp_path):
    """The memory location and error_status formats, the AER register gate, and the IA32/X64 context
    stride, on padded and unpadded contexts: the model follows the booted kernel's version."""
    _kernel_or_skip(series)
    from apeitool.kernel_versions import KernelVersion
    from apeitool.vm import run
    events = version_sensitive_events()
    result = run({"sources": HEST["sources"][:1]}, events, series, do_compare=True, timeout=240,
                 console=str(tmp_path / "console.txt"))
    assert result["status"] == "ok", (tmp_path / "console.txt").read_text()[-3000:]
    assert result["differences"] == [], json.dumps(result["differences"], indent=1)
    kv = KernelVersion(result["model"]["kernel_version"])
    lines = [l for e in result["events"] for l in e["lines"]]
    assert any(("node:1 card:2" if kv.has("mem_location_compact") else "node: 1 card: 2") in l for l in lines)
    assert any("aer_cor_status" in l for l in lines) == kv.has("aer_all_severities")
    sizes = [l.split(": ")[-1] for l in result["events"][4]["lines"] if "Register Array Size" in l]
    assert sizes == (["0x0008", "0x0018"] if kv.has("ia32_ctx_align") else ["0x0008", "0x0000"])


def _arm_raw(types, ctx_sizes, pad, vendor):
    """An ARM processor section by hand: error infos of the given type bytes (flags, error info,
    both addresses valid), contexts of the given sizes padded to 16 bytes or not, vendor bytes."""
    import struct
    infos = b"".join(struct.pack("<BBHBHBQQQ", 0, 32, 0x1F, t, 0, 1, 0x7 | 1 << 16 | 2 << 18 | 3 << 22, 0x1000, 0x2000)
                     for t in types)
    ctxs = b""
    for i, n in enumerate(ctx_sizes):
        ctx = struct.pack("<HHI", 0, 4 + i, n) + bytes((0x40 + 16 * i + j) & 0xFF for j in range(n))
        ctxs += ctx + (bytes(-len(ctx) % 16) if pad else b"")
    body = infos + ctxs + bytes(range(0x80, 0x80 + vendor))
    return struct.pack("<IHHIB3xQQII", 0x7, len(types), len(ctx_sizes), 40 + len(body), 1, 0x81, 0x410FD0C0, 1,
                       0x80000002) + body


@pytest.mark.vm
def test_arm64_arm_processor_records_print_as_that_kernel_prints(tmp_path):
    """ARM processor sections on the arm64 kernel: the error type (an enumeration, or a bit mask
    where "align ARM CPER type with UEFI 2.9A/2.10 specs" is in), the context stride on padded and
    unpadded contexts, and the vendor bytes read from where the last context ended."""
    _arm64_or_skip()
    from apeitool.kernel_versions import KernelVersion
    from apeitool.vm import run
    raws = [_arm_raw([0, 1, 2, 3], [4, 20], False, 5), _arm_raw([2, 4, 0x1E, 0x0A], [4, 20], True, 3)]
    hest = {"sources": [{"type": "GHES", "source_id": i, "error_status_address": {"address": 0x1000 + 8 * i},
                         "error_status_block_length": 0x1000, "notify": {"type": "POLLED", "poll_interval": 1000}}
                        for i in range(len(raws))]}
    events = [Event(0.0, "write", i, data=_block("arm", {"data": r.hex()}, "corrected" if i else "recoverable"))
              for i, r in enumerate(raws)]
    result = run(hest, events, "6.12", "arm64", True, timeout=300, console=str(tmp_path / "console.txt"))
    assert result["status"] == "ok", (tmp_path / "console.txt").read_text()[-3000:]
    assert result["differences"] == [], json.dumps(result["differences"], indent=1)
    kv = KernelVersion(result["kernel"]["version"])
    types = [l.split("error_type: ")[1] for l in result["boot"] if "error_type:" in l]
    assert types[2] == ("0x02: cache error" if kv.has("arm_type_bitmask") else "2, bus error")
    assert any("Vendor specific error info has 5 bytes:" in l for l in result["boot"])


@pytest.mark.vm
@pytest.mark.parametrize("series", SERIES)
def test_memory_error_outside_ram_as_that_kernel_handles_it(series, tmp_path):
    """A recoverable memory error beyond the guest's RAM: refused by pfn_valid() with "Invalid
    address in generic error data" until "allow poison of non-struct pfn", handed to
    memory_failure() after; one inside RAM reaches memory_failure() on every kernel."""
    _kernel_or_skip(series)
    from apeitool.kernel_versions import KernelVersion
    from apeitool.vm import run
    events = [Event(0.0, "write", 1, data=_block("platform_memory", {"physical_address": 0x400000000})),
              Event(2.6, "write", 1, data=_block("platform_memory", {"physical_address": 0x2000000}))]
    result = run({"sources": HEST["sources"][:1]}, events, series, do_compare=True, timeout=200,
                 console=str(tmp_path / "console.txt"))
    assert result["status"] == "ok", (tmp_path / "console.txt").read_text()[-3000:]
    assert result["differences"] == [], json.dumps(result["differences"], indent=1)
    refused = any("Invalid address in generic error data: 0x400000000" in l for l in result["events"][0]["lines"])
    assert refused == (not KernelVersion(result["model"]["kernel_version"]).has("mf_any_pfn"))


# -- rasdaemon and the kernel's RAS trace events ---------------------------------------------------------

def _rasdaemon_or_skip():
    if shutil.which("rasdaemon") is None and not os.path.exists("/usr/sbin/rasdaemon"):
        pytest.skip("rasdaemon is not installed (Debian package rasdaemon; .ci/run installs it)")


def ras_events(seed=5):
    """Records of the kinds ghes.c traces differently, severities alternating (one print ratelimit
    class each 5.2 s; the polled source reads a record within ~1 s, so 2.6 s apart), on the polled source; an existing PCI device (00:01.0 of QEMU's pc machine)
    so that AER recovery finds it. The uncorrected AER record comes last: on every kernel checked it
    names a conventional PCI device, and pcie_do_recovery then dereferences NULL (see the README)."""
    from apeitool.gen import section_body
    rng = random.Random(seed)
    dev = {"segment": 0, "primary_bus": 0, "device": 1, "function": 0, "vendor_id": 0x8086, "device_id": 0x7000}
    cor = bytearray(96)
    cor[0x10:0x14] = (0xFFFFFFFF).to_bytes(4, "little")          # every bit: names and leftovers
    unc = bytearray(96)
    unc[0x04:0x08] = (1 << 12 | 1 << 4).to_bytes(4, "little")    # poisoned TLP: its header is logged
    for i in range(0x1C, 96):
        unc[i] = i
    blocks = [   # (kind, body, severity): the two print ratelimit classes alternate
        ("pcie", {"device_id": dev, "aer_info": cor.hex()}, "corrected"),
        ("arm", {"mpidr": 0x81000100, "error_affinity_level": 1, "running_state": 1, "psci_state": 5,
                 "midr": 0x410FD0C0}, "recoverable"),              # section length 0: a firmware bug
        ("platform_memory", {"physical_address": 0x12345000, "node": 1, "memory_error_type": 3}, "corrected"),
        ("processor_generic", section_body("processor_generic", rng), "recoverable"),
        ("ia32x64", section_body("ia32x64", rng), "corrected"),
        ("cxl_protocol", section_body("cxl_protocol", rng), "recoverable"),
        ("cxl_dram", section_body("cxl_dram", rng), "corrected"),
        ("pcie", {"device_id": dev, "aer_info": unc.hex()}, "recoverable"),
    ]
    return [Event(round(i * 2.6, 2), "write", 1, data=_block(key, body, sev))
            for i, (key, body, sev) in enumerate(blocks)]


@pytest.mark.vm
@pytest.mark.parametrize("series", SERIES)
def test_rasdaemon_and_ras_trace_in_the_guest_are_what_replay_writes(series, tmp_path):
    """Debian's rasdaemon recording in the guest, and the kernel's own RAS trace events, against
    replay --rasdaemon-db's model: the same rows, the same trace lines."""
    _kernel_or_skip(series)
    _rasdaemon_or_skip()
    from apeitool.vm import run
    events = ras_events()
    db = tmp_path / "ras-mc_event.db"
    result = run(HEST, events, series, do_compare=True, timeout=300, console=str(tmp_path / "console.txt"),
                 rasdaemon_db=str(db))
    assert result["status"] in ("ok", "no-finish"), (tmp_path / "console.txt").read_text()[-3000:]
    ras = result["rasdaemon"]
    assert ras["tables"] is not None, ras
    assert ras["differences"] == [], json.dumps(ras["differences"], indent=1)
    assert ras["trace_differences"] == [], json.dumps(ras["trace_differences"], indent=1)
    kinds = [e for e, _t in ras["trace"]]
    assert kinds.count("aer_event") == 2 and kinds.count("arm_event") == 1
    assert kinds.count("non_standard_event") >= 2          # + the CXL sections before their hand-off
    assert [e["event"] for e in ras["trace_explained"]] == ["mce_record"]
    assert len(ras["tables"]["aer_event"]) == 2 and ras["tables"]["mc_event"] == []
    last = len(events) - 1
    crash = [d for d in result["differences"] if d["event"] == last]
    assert all(re_crash(d["line"]) for d in crash), crash
    assert [d for d in result["differences"] if d["event"] != last] == [], result["differences"]


def re_crash(line):
    import re
    return re.match(r"^(BUG: kernel NULL pointer dereference|Oops: )", line)


def test_ras_trace_lines_parse_and_match_the_model_without_booting():
    """Lines as Debian's 6.1 printed them in /sys/kernel/tracing/trace (seen under apeitool vm) against
    replay.trace's renderings: __print_flags leftovers as hex, %pU in byte order, __print_hex's runs."""
    from apeitool.replay.trace import TraceLog, compare, parse
    real = parse([
        "     kworker/0:2-47      [000] .....     7.360290: aer_event: 0000:00:01.0 PCIe Bus Error: "
        "severity=Corrected, Receiver Error|Bad TLP|Bad DLLP|RELAY_NUM Rollover|Replay Timer Timeout|Advisory "
        "Non-Fatal Error|Corrected Internal Error|Header Log Overflow|0xffff0e3e, TLP Header=Not available",
        "          <idle>-0       [000] d.s2.     4.704100: arm_event: affinity level: 1; MPIDR: 0000000081000100; "
        "MIDR: 00000000410fd0c0; running state: 1; PSCI state: 5",
        "          <idle>-0       [000] dNH1.     9.599863: non_standard_event: severity: 2; sec type:9fcc2628-8c44-"
        "2b4c-86b6-a95394b7ef33; FRU: 00000000-0000-0000-0000-000000000000 ; data len:20; raw data:cf 73 a1 dd 27 "
        "3e 4d 8f 00 01 02 03 04 05 06 0708 09 0a 0b",
        "     kworker/0:2-47      [000] .....     4.698800: mce_record: CPU: 0, MCGc/s: 100010a/0, MC255: "
        "9c0000000000009f",
        "# tracer: nop"])
    assert [e for e, _t in real] == ["aer_event", "arm_event", "non_standard_event", "mce_record"]
    log = TraceLog(ghes_edac=False)
    log("aer_event", 0.0, dev_name="0000:00:01.0", severity="AER_CORRECTABLE", status=0xFFFFFFFF)
    log("arm_event", 0.0, body={"validation_bits": 7, "mpidr": 0x81000100, "error_affinity_level": 1,
                                "running_state": 1, "psci_state": 5, "midr": 0x410FD0C0})
    from apeitool.schemas.cper_fields import guid_bytes
    log("non_standard_event", 0.0, sec_type=guid_bytes("2826cc9f-448c-4c2b-86b6-a95394b7ef33"), fru_id=bytes(16),
        fru_text="", ghes_severity=2, payload=bytes.fromhex("cf73a1dd273e4d8f000102030405060708090a0b"))
    log("mc_event", 0.0, severity="corrected", location="node:1")            # no ghes_edac: nothing
    differences, explained = compare(real, log.lines)
    assert differences == [] and [e["event"] for e in explained] == ["mce_record"]
    log("arm_event", 0.0, body={"validation_bits": 0, "midr": 1})
    differences, _ = compare(real, log.lines)
    assert differences == [{"only_in": "model", "event": "arm_event",
                            "text": "affinity level: 255; MPIDR: 0000000000000000; MIDR: 0000000000000001; "
                                    "running state: -1; PSCI state: -1"}]


def test_rasdaemon_rows_compare_as_multisets():
    from apeitool.vm import compare_rasdaemon
    real = {"aer_event": [["0000:00:01.0", "Corrected", "Bad TLP"]] * 2, "mc_event": []}
    model = {"aer_event": [["0000:00:01.0", "Corrected", "Bad TLP"]], "arm_event": [[0, 1]]}
    assert compare_rasdaemon(real, model) == [           # a repeat counts; tables the real one lacks do not
        {"table": "aer_event", "only_in": "kernel", "row": ["0000:00:01.0", "Corrected", "Bad TLP"]}]
