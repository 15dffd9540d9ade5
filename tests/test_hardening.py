"""What real users feed apeitool: real-firmware quirks, odd files, devices, broken streams.

Each test is written from the behaviour the spec, the kernel or coreutils define, not from our
output."""
import copy
import json
import os

import pytest
from click.testing import CliRunner

import apeitool
from apeitool.cli import main
from apeitool.diff import diff_models
from apeitool.validate import validate_bytes


def findings(raw, rule=None, target=None):
    out = validate_bytes(raw, "t.aml", target=target) if target else validate_bytes(raw, "t.aml")
    return [f for f in out if rule is None or f.rule == rule]


# -- 2. Related Source Id as ACPI 4.0 meant it -------------------------------------------------------

def _aer_paired(related):
    return {"sources": [
        {"type": "AER_ROOT_PORT", "source_id": 10, "flags": {"firmware_first": True}},
        {"type": "AER_ENDPOINT", "source_id": 11, "flags": {"firmware_first": True}},
        {"type": "GHES", "source_id": 20, "related_source_id": related[0],
         "error_status_address": {"address": 0x7F000000}, "notify": {"type": "SCI"}},
        {"type": "GHES", "source_id": 21, "related_source_id": related[1],
         "error_status_address": {"address": 0x7F000008}, "notify": {"type": "SCI"}}]}


def test_ghes_naming_its_aer_source_is_not_a_finding():
    raw = apeitool.build(_aer_paired((10, 11)), "hest")
    assert findings(raw, "HEST.GHES.RELATED_SOURCE") == []


@pytest.mark.parametrize("related, words", [((20, 11), "points to itself"),
                                            ((99, 11), "matches no error source"),
                                            ((21, 11), "generic source cannot be the alternate")])
def test_related_source_warned_only_when_no_acpi_version_allows_it(related, words):
    raw = apeitool.build(_aer_paired(related), "hest")
    [f] = findings(raw, "HEST.GHES.RELATED_SOURCE")
    assert words in f.message and f.path == "sources[2].related_source_id"


# -- 3. GAR at address 0 on an EINJ instruction ----------------------------------------------------

def _einj(addresses):
    return {"entries": [{"action": a, "instruction": "WRITE_REGISTER_VALUE",
                         "register_region": {"address": addr, "bit_width": 64, "access_size": "QWORD"},
                         "value": 1, "mask": 0xFF}
                        for a, addr in zip(["BEGIN_INJECTION_OPERATION", "SET_ERROR_TYPE", "EXECUTE_OPERATION",
                                            "END_OPERATION"], addresses)]}


def test_einj_register_at_zero_disables_einj_at_the_first_bad_register():
    raw = apeitool.build(_einj([0x7F000000, 0, 0x7F000010, 0]), "einj")
    [f] = findings(raw, "LINUX.GAS.ADDRESS_ZERO")   # collection stops at the first: one finding
    assert f.path == "entries[1].register_region.address"
    assert "[Firmware Bug]: APEI: Invalid physical address in GAR [0x0/64/0/4/0]" in f.message
    assert "EINJ: Error collecting EINJ resources." in f.message and "disabled" in f.message


def test_ghes_register_at_zero_names_the_numbers():
    spec = {"sources": [{"type": "GHES", "source_id": 1, "error_status_address": {"address": 0},
                         "notify": {"type": "POLLED", "poll_interval": 100}}]}
    [f] = findings(apeitool.build(spec, "hest"), "LINUX.GAS.ADDRESS_ZERO")
    assert "[0x0/64/0/4/0]" in f.message and "not registered" in f.message


def test_header_names_all_nul_and_non_ascii_are_readable():
    raw = bytearray(apeitool.build({"header": {"oem_id": "\xd2\x04AB", "creator_id": ""}, "sources": []}, "hest"))
    found = {f.rule: f for f in findings(bytes(raw))}
    assert found["TABLE.NAME_EMPTY"].path == "header.creator_id"
    assert '"\\xd2\\x04AB"' in found["TABLE.NAME_NON_ASCII"].message
    out = CliRunner().invoke(main, ["decode", "--no-color", "-"], input=bytes(raw))
    assert 'Oem ID: "\\xd2\\x04AB"' in out.output


# -- 4. diff of instruction lists: aligned by what each entry does --------------------------------

ACTIONS = ["BEGIN_INJECTION_OPERATION", "GET_TRIGGER_ERROR_ACTION_TABLE", "SET_ERROR_TYPE", "GET_ERROR_TYPE",
           "END_OPERATION", "EXECUTE_OPERATION", "CHECK_BUSY_STATUS", "GET_COMMAND_STATUS"]


def _entry(k, address):
    return {"action": ACTIONS[k % len(ACTIONS)], "instruction": "READ_REGISTER" if k % 3 else "WRITE_REGISTER",
            "register_region": {"address": address, "bit_width": 64, "access_size": "QWORD"},
            "value": k, "mask": 0xFFFFFFFF}


def test_instruction_diff_aligns_inserted_and_moved_entries():
    a = {"entries": [_entry(k, 0x7F000000 + 8 * k) for k in range(40)]}
    b = copy.deepcopy(a)
    for k in (5, 17, 30):                      # three registers moved in the new build
        b["entries"][k]["register_region"]["address"] += 0x1000
    b["entries"].insert(12, _entry(3, 0x7E000000))   # and two entries added
    b["entries"].insert(25, _entry(6, 0x7E000008))
    changes = diff_models("einj", a, b)
    kinds = {}
    for c in changes:
        kinds.setdefault(c.kind, []).append(c)
    assert sorted(c.path_b or c.path for c in kinds["added"]) == ["entries[12]", "entries[25]"]
    assert "removed" not in kinds
    assert sorted(c.path for c in kinds["changed"]) == sorted(f"entries[{k}].register_region.address"
                                                              for k in (5, 17, 30))
    assert all(c.a + 0x1000 == c.b for c in kinds["changed"])


def test_instruction_diff_never_pairs_different_actions():
    a = {"entries": [_entry(0, 0x1000), _entry(2, 0x2000)]}
    b = {"entries": [_entry(0, 0x1000), _entry(1, 0x2000)]}
    kinds = sorted(c.kind for c in diff_models("einj", a, b))
    assert kinds == ["added", "removed"]


# -- 5. inputs users actually have --------------------------------------------------------------------

CORPUS_REAL = __import__("conftest").CORPUS / "real"


def _dsl(raw: bytes, sig: str) -> str:
    """A .dsl as iasl writes it: field lines, then the Raw Table Data block."""
    from apeitool.render.iasl import render
    return render(raw, f"{sig.lower()}.dat")


def test_concatenated_disassembly_gives_each_table(tmp_path):
    hest = apeitool.build({"sources": [{"type": "GHES", "source_id": 1, "notify": {"type": "POLLED",
                                                                               "poll_interval": 100},
                                        "error_status_address": {"address": 0x7F000000}}]}, "hest")
    bert = apeitool.build({"boot_error_region_length": 0x100, "boot_error_region_address": 0x7F100000}, "bert")
    path = tmp_path / "hw-probe-acpidump.txt"
    path.write_text(_dsl(bert, "BERT") + _dsl(hest, "HEST") + _dsl(bert, "BERT"))
    out = CliRunner().invoke(main, ["decode", "--table", "HEST", "-f", "json", str(path)])
    assert out.exit_code == 0, out.output
    model = json.loads(out.output)
    assert apeitool.build(model) == hest
    labels = [d.label for d in apeitool.decode(str(path))]
    assert labels == [f"{path}[BERT#1]", f"{path}[HEST]", f"{path}[BERT#2]"]


def _acpidump(sig_heading, data):
    lines = [f"{sig_heading} @ 0x0000000000000000"]
    for o in range(0, len(data), 16):
        lines.append(f"    {o:04X}: " + " ".join(f"{b:02X}" for b in data[o:o + 16]))
    return "\n".join(lines) + "\n\n"


def test_bom_and_lower_case_acpidump_headings(tmp_path):
    hest = apeitool.build({"sources": []}, "hest")
    einj = apeitool.build({"entries": []}, "einj")
    path = tmp_path / "dump.txt"
    path.write_bytes(("\ufeff" + _acpidump("hest", hest) + _acpidump("einj", einj)).encode())
    decoded = apeitool.decode(str(path))
    assert [d.label for d in decoded] == [f"{path}[HEST]", f"{path}[EINJ]"]   # the first is not dropped
    out = CliRunner().invoke(main, ["validate", "--table", "hest", str(path)])
    assert "found: hest" not in out.output and out.exit_code == 0


def test_several_files_a_bad_one_is_reported_and_the_others_go_on(tmp_path):
    good = tmp_path / "good.aml"
    good.write_bytes(apeitool.build({"sources": []}, "hest"))
    bad = tmp_path / "bad.aml"
    bad.write_bytes(b"HEST" + (200).to_bytes(4, "little") + bytes(40))
    runner = CliRunner()
    for cmd in (["decode", "-f", "json"], ["decode", "-f", "jsonl"], ["validate"]):
        out = runner.invoke(main, cmd + [str(bad), str(good), str(tmp_path / "missing")])
        assert out.exit_code == 2, (cmd, out.output)
        errors = [l for l in out.stderr.splitlines() if l.startswith("apeitool: error:")]
        if cmd[0] == "validate":   # a table that cannot be walked is a finding there, not an error
            assert len(errors) == 1 and "TABLE.STRUCTURE: header.length @0x4" in out.stdout
        else:
            assert len(errors) == 2 and "bad.aml: offset 0x4: header.length" in errors[0]
        assert "missing: No such file or directory" in errors[-1]
        assert "Traceback" not in out.output
        # the good file's output is there: its model (decode) or its summary line (validate)
        assert ('"HEST"' in out.stdout) if cmd[0] == "decode" else ("good.aml: no findings" in out.stdout)


def test_kind_word_is_a_kind_even_when_such_a_file_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hest").write_bytes(b"not a table")
    (tmp_path / "t.aml").write_bytes(apeitool.build({"sources": []}, "hest"))
    runner = CliRunner()
    assert runner.invoke(main, ["decode", "hest", "t.aml"]).exit_code == 0
    out = runner.invoke(main, ["decode", "hest"])            # alone, it can only be the file
    assert out.exit_code == 2 and "hest: " in out.stderr
    assert runner.invoke(main, ["decode", "./hest"]).exit_code == 2


# -- 7. libcper JSON never holds an empty base64 blob ---------------------------------------------------

def _cxl_protocol_record(dvsec: str, log: str):
    return {"form": "record", "records": [{"header": {}, "sections": [{
        "descriptor": {"section_type": "cxl_protocol", "section_severity": "recoverable"},
        "body": {"validation_bits": 0x67, "agent_type": 0, "device_id": {"vendor_id": 0x8086},
                 "dvsec": dvsec, "error_log": log}}]}]}


@pytest.mark.parametrize("dvsec, log", [("", ""), ("0102", ""), ("", "0304")])
def test_cxl_protocol_zero_lengths_omit_the_blob(dvsec, log):
    from apeitool.render.libcper import document
    raw = apeitool.build(_cxl_protocol_record(dvsec, log), "cper")
    [d] = apeitool.decode_bytes(raw, kind="cper")
    ir = document(d.model)["sections"][0]["CxlProtocol"]
    assert ir["dvsecLength"] == len(dvsec) // 2 and ir["errorLogLength"] == len(log) // 2
    assert ("cxlDVSEC" in ir) == bool(dvsec) and ("cxlErrorLog" in ir) == bool(log)


BLOBS = {"data", "cxlDVSEC", "cxlErrorLog", "ccixPERLog", "capabilityStructure", "rootEntry", "contextEntry",
         "eventLogEntry", "deviceTableEntry"}


def _blob_values(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in BLOBS and isinstance(v, str):
                yield v
            yield from _blob_values(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _blob_values(v)


def test_no_empty_blob_for_any_generated_record():
    import random
    from apeitool.schemas.sections import BODIES
    from apeitool.gen import record_spec
    from apeitool.render.libcper import document
    rng = random.Random(5)
    keys = sorted(BODIES)
    checked = 0
    for _ in range(400):
        try:
            raw = apeitool.build(record_spec(rng, keys), "cper")
            [d] = apeitool.decode_bytes(raw, kind="cper")
        except apeitool.errors.ApeiError:
            continue
        checked += 1
        assert "" not in list(_blob_values(document(d.model)))
    assert checked > 100


# -- 6. edit a decoded model, then build -----------------------------------------------------------

@pytest.mark.parametrize("kind, spec, list_field", [
    ("hest", {"sources": [{"type": "GHES", "source_id": i, "notify": {"type": "POLLED", "poll_interval": 10},
                           "error_status_address": {"address": 0x7F000000 + 8 * i}} for i in range(3)]},
     "sources"),
    ("einj", {"entries": [_entry(k, 0x7F000000 + 8 * k) for k in range(4)]}, "entries"),
    ("erst", {"entries": [{"action": "BEGIN_WRITE_OPERATION", "instruction": "NOOP"} for _ in range(4)]},
     "entries"),
])
def test_removing_an_item_warns_and_fix_lengths_repairs(kind, spec, list_field, tmp_path):
    raw = apeitool.build(spec, kind)
    [t] = apeitool.decode_bytes(raw)
    edited = copy.deepcopy(t.model)
    del edited[list_field][1]
    warnings = []
    kept = apeitool.build(edited, kind, warnings=warnings)      # reproduces what was asked...
    assert kept[4:8] == raw[4:8]
    fields = {w.field for w in warnings}                      # ...and says what no longer fits
    assert {"header.length", "header.checksum"} <= fields and any(f.endswith("count") for f in fields)
    fixed = apeitool.build(edited, kind, fix_lengths=True)
    [back] = apeitool.decode_bytes(fixed)
    assert back.warnings == [] and len(back.model[list_field]) == len(spec[list_field]) - 1
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))
    runner = CliRunner()
    out = runner.invoke(main, ["build", kind, str(path), "-o", str(tmp_path / "kept.aml")])
    assert out.exit_code == 0 and "--fix-lengths" in out.stderr
    out = runner.invoke(main, ["build", kind, "--fix-lengths", str(path), "-o", str(tmp_path / "fixed.aml")])
    assert out.exit_code == 0 and out.stderr == "" and (tmp_path / "fixed.aml").read_bytes() == fixed


# -- 8, 9. outputs: devices, FIFOs, symlinks, full disks --------------------------------------------

import stat as _stat
import subprocess
import sys
import threading

HEST_RAW = apeitool.build({"sources": [{"type": "GHES", "source_id": 1, "notify": {"type": "POLLED",
                                                                                "poll_interval": 100},
                                        "error_status_address": {"address": 0x7F000000}}]}, "hest")
EVENTS = '{"at": 0.0, "event": "notify", "type": "POLLED"}\n'


def _commands(tmp, out):
    """Every command that writes an -o file, with inputs that succeed."""
    (tmp / "t.aml").write_bytes(HEST_RAW)
    (tmp / "ev.jsonl").write_text(EVENTS)
    t, ev = str(tmp / "t.aml"), str(tmp / "ev.jsonl")
    return [["decode", t, "-o", out], ["decode", "-f", "jsonl", t, "-o", out], ["build", "hest", "-o", out],
            ["validate", t, "-o", out], ["diff", t, t, "-o", out], ["replay", "--hest", t, ev, "-o", out],
            ["stream", "pack", ev, out], ["build", "cper", "--memory-error", "--pa", "0x1000", "-o", out]]


def _run(args):
    return subprocess.run([sys.executable, "-m", "apeitool", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_dev_full_is_a_write_error_everywhere(tmp_path):
    for args in _commands(tmp_path, "/dev/full"):
        proc = _run(args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.strip().endswith("/dev/full: cannot write: No space left on device"), args
        assert "Traceback" not in proc.stderr


def _identity(path):
    st = os.stat(path)
    return st.st_dev, st.st_ino, _stat.S_IFMT(st.st_mode)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_device_nodes_and_symlinks_to_them_are_written_in_place(tmp_path, device):
    # what must hold is that the node (and a symlink to it) is the same inode afterwards; some
    # sandboxes' /dev/null is itself a regular file, which must be written in place just the same
    if device == "/dev/zero" and not _stat.S_ISCHR(os.stat(device).st_mode):
        pytest.skip("/dev/zero is not a character device here")
    before = _identity(device)
    link = tmp_path / "dev-link"
    link.symlink_to(device)
    for target in (device, str(link)):
        for args in _commands(tmp_path, target):
            proc = _run(args)
            assert proc.returncode in (0, 1), (args, proc.stderr)   # validate/diff may say 1
            assert _identity(device) == before, (args, "the device node was replaced")
    assert link.is_symlink()
    assert not list(tmp_path.glob(".apeitool-*")) and not list(__import__("pathlib").Path("/dev").glob(".apeitool-*"))


def test_fifo_output_is_written_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    proc = _run(["build", "hest", "-o", str(fifo)])
    reader.join(30)
    assert proc.returncode == 0 and _stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0] == _run_bytes(["build", "hest"])


def _run_bytes(args):
    return subprocess.run([sys.executable, "-m", "apeitool", *args], capture_output=True, timeout=60).stdout


def test_symlink_to_a_file_keeps_the_link_and_replaces_the_target(tmp_path):
    target = tmp_path / "real.aml"
    target.write_bytes(b"old")
    link = tmp_path / "link.aml"
    link.symlink_to(target)
    assert _run(["build", "hest", "-o", str(link)]).returncode == 0
    assert link.is_symlink() and target.read_bytes()[:4] == b"HEST"


def test_dev_stdout_writes_to_the_descriptor(tmp_path):
    out = tmp_path / "captured"
    with open(out, "wb") as f:
        proc = subprocess.run([sys.executable, "-m", "apeitool", "build", "hest", "-f", "hex", "-o", "/dev/stdout"],
                              stdout=f, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0 and out.read_text().startswith("    0000: 48 45 53 54")


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs filled to the brim (root only; skipped where mounting is not allowed)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with open(mnt / "fill", "wb") as f:
            try:
                f.write(bytes(1 << 20))
                f.flush()
            except OSError:
                pass
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_full_disk_leaves_no_temporary_file_and_says_enospc(tmp_path, full_disk):
    for args in _commands(tmp_path, str(full_disk / "out")):
        proc = _run(args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "No space left on device" in proc.stderr and "Traceback" not in proc.stderr
        assert sorted(p.name for p in full_disk.iterdir()) == ["fill"], args


def test_close_failing_removes_the_temporary_file(tmp_path, monkeypatch):
    import errno
    import io
    from apeitool.errors import InputError
    from apeitool.fileio import open_output

    class Failing(io.FileIO):
        def close(self):
            super().close()
            raise OSError(errno.ENOSPC, "No space left on device")
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Failing(fd, "w"))
    with pytest.raises(InputError, match="No space left on device"):
        with open_output(str(tmp_path / "x")) as f:
            f.write(b"data")
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    assert list(tmp_path.iterdir()) == []


# -- 10, 11. hexdump '*' bombs and endless inputs: bounded up front ----------------------------------

def test_hexdump_star_bomb_is_refused_before_expanding():
    import resource
    bomb = ("00000000  48 45 53 54 28 00 00 00  01 00 41 50 45 49 54 4c  |HEST(.....APEITL|\n*\n"
            "ffffffff0\n").encode()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(apeitool.errors.InputError, match=r"line 3 has offset 0xFFFFFFFF0: the '\*'"):
        apeitool.decode_bytes(bomb, "bomb.txt")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000   # KiB: nothing expanded


def test_hexdump_star_within_the_limit_still_repeats():
    from apeitool.inputs import split_input
    text = ("00000000  01 02 03 04 05 06 07 08  09 0a 0b 0c 0d 0e 0f 10  |................|\n*\n"
            "00000040  11 22 33 44 55 66 77 88  99 aa bb cc dd ee ff 00  |................|\n00000050\n")
    [item] = split_input(text.encode(), "x")
    assert item.data == bytes(range(1, 17)) * 4 + bytes.fromhex("112233445566778899aabbccddeeff00")


ENDLESS = [["decode"], ["decode", "-f", "jsonl"], ["decode", "--as", "estatus", "-f", "jsonl"], ["validate"],
           ["decode", "cper"], ["build", "hest"], ["stream", "unpack"]]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("args", ENDLESS, ids=lambda a: "-".join(a))
def test_endless_inputs_end_in_one_line_in_bounded_memory(device, args, tmp_path):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "apeitool", *args, device],
                          capture_output=True, text=True, timeout=120) if os.path.exists("/usr/bin/time") else \
        subprocess.run([sys.executable, "-m", "apeitool", *args, device], capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
    errors = [l for l in lines if l.startswith("apeitool: error:")]
    assert len(errors) == 1 and device in errors[0]
    if os.path.exists("/usr/bin/time"):
        assert int(lines[-1]) < 150_000, lines   # KiB peak RSS


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_replay_and_pack_inputs(device, tmp_path):
    (tmp_path / "t.aml").write_bytes(HEST_RAW)
    for args in (["replay", "--hest", str(tmp_path / "t.aml"), "--notify", "POLLED", "--source", "1", device],
                 ["stream", "pack", "--notify", "POLLED", "--source", "1", device, str(tmp_path / "p")],
                 ["replay", "--hest", str(tmp_path / "t.aml"), device]):
        proc = _run(args)
        assert proc.returncode == 2 and proc.stderr.count("apeitool: error:") == 1, (args, proc.stderr)
        assert not (tmp_path / "p").exists()


# -- 12. validate on a Table Length inside the header ---------------------------------------------------

@pytest.mark.parametrize("length", range(0, 36))
def test_validate_tiny_table_length(length):
    raw = bytearray(HEST_RAW)
    raw[4:8] = length.to_bytes(4, "little")
    found = findings(bytes(raw))
    assert [f.rule for f in found if f.severity == "error"][:1] == ["TABLE.STRUCTURE"]


# -- 13. every command opens its inputs the same way ------------------------------------------------

@pytest.mark.parametrize("args", [["replay", "--hest", "{t}", "{bad}"], ["stream", "pack", "{bad}", "{tmp}/o"],
                                  ["stream", "unpack", "{bad}"], ["replay", "--hest", "{bad}", "{ev}"],
                                  ["decode", "{bad}"], ["validate", "{bad}"], ["diff", "{bad}", "{t}"],
                                  ["build", "hest", "{bad}"]])
@pytest.mark.parametrize("bad, words", [("missing", "No such file or directory"), ("dir", "is a directory"),
                                        ("loop", "Too many levels of symbolic links")])
def test_unreadable_inputs_are_one_line_everywhere(args, bad, words, tmp_path):
    (tmp_path / "t.aml").write_bytes(HEST_RAW)
    (tmp_path / "ev.jsonl").write_text(EVENTS)
    (tmp_path / "dir").mkdir()
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    subst = {"t": str(tmp_path / "t.aml"), "ev": str(tmp_path / "ev.jsonl"), "bad": str(tmp_path / bad),
             "tmp": str(tmp_path)}
    proc = _run([a.format(**subst) for a in args])
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"apeitool: error: {tmp_path / bad}: ") and words in proc.stderr


@pytest.mark.parametrize("args", [["decode", "-"], ["decode", "-f", "jsonl", "-"], ["build", "hest", "-"],
                                  ["validate", "-"], ["replay", "--hest", "-", "{ev}"]])
def test_closed_stdin_is_one_line(args, tmp_path):
    (tmp_path / "ev.jsonl").write_text(EVENTS)
    proc = subprocess.run([sys.executable, "-m", "apeitool", *[a.format(ev=tmp_path / "ev.jsonl") for a in args]],
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: os.close(0))
    assert proc.returncode == 2 and "standard input is closed" in proc.stderr and "Traceback" not in proc.stderr


# -- 14. nesting, huge numbers, times ------------------------------------------------------------------

@pytest.mark.parametrize("name, text", [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep.yaml", "".join("  " * i + "a:\n" for i in range(3000)) + "  " * 3000 + "x: 1\n"),
    ("flow.yaml", "a: " + "[" * 5000 + "]" * 5000),
    ("huge.yaml", "sources:\n  - type: GHES\n    source_id: " + "9" * 5000 + "\n"),
    ("huge.json", '{"sources": [{"type": "GHES", "source_id": ' + "9" * 5000 + "}]}"),
    ("nan.json", '{"sources": [{"type": "GHES", "source_id": NaN}]}'),
], ids=lambda v: v if len(v) < 20 else "")
def test_absurd_specs_are_one_line(name, text, tmp_path):
    (tmp_path / name).write_text(text)
    for args in (["build", "hest", str(tmp_path / name)], ["diff", str(tmp_path / name), str(tmp_path / name)]):
        proc = _run(args)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and name in proc.stderr, proc.stderr


@pytest.mark.parametrize("line, words", [('{"at": NaN, "event": "tick"}', "NaN is not JSON"),
                                         ('{"at": Infinity, "event": "tick"}', "Infinity is not JSON"),
                                         ('{"at": 1e300, "event": "tick"}', "at: 1e+300 is not a time"),
                                         ('{"at": 1.9e10, "event": "tick"}', "is not a time"),
                                         ('{"at": -1, "event": "tick"}', "at: -1 is not a time"),
                                         ('{"at": true, "event": "tick"}', "at: True is not a time"),
                                         ('{"at": ' + "9" * 5000 + ', "event": "tick"}', "4300 digits"),
                                         ('[{"at": 0, "event": "tick"}]', "a JSON array"),
                                         ("[" * 50000 + "]" * 50000, "nested too deep")],
                         ids=lambda v: v[:30])
def test_bad_times_in_streams_name_file_line_and_field(line, words, tmp_path):
    (tmp_path / "t.aml").write_bytes(HEST_RAW)
    (tmp_path / "ev.jsonl").write_text('{"at": 0, "event": "tick"}\n' + line + "\n")
    for args in (["replay", "--hest", str(tmp_path / "t.aml"), str(tmp_path / "ev.jsonl")],
                 ["stream", "pack", str(tmp_path / "ev.jsonl"), str(tmp_path / "p")]):
        proc = _run(args)
        assert proc.returncode == 2 and "ev.jsonl: line 2: " in proc.stderr and words in proc.stderr, proc.stderr
        assert not (tmp_path / "p").exists()


def test_out_of_order_times_are_rejected_not_retimed(tmp_path):
    from apeitool.replay.stream import StreamStats, pack_events, read_packed, Event
    import io
    (tmp_path / "t.aml").write_bytes(HEST_RAW)
    (tmp_path / "ev.jsonl").write_text('{"at": 2.0, "event": "tick"}\n{"at": 1.0, "event": "tick"}\n')
    proc = _run(["replay", "--hest", str(tmp_path / "t.aml"), str(tmp_path / "ev.jsonl")])
    assert proc.returncode == 2 and "line 2: at: 1.0 is earlier than the event before (2.0)" in proc.stderr
    buf = io.BytesIO()
    pack_events([Event(2.0, "tick"), Event(1.0, "tick")], buf)
    with pytest.raises(apeitool.errors.InputError, match="frame 1: at: 1.0 is earlier"):
        list(read_packed(io.BytesIO(buf.getvalue()), "p", StreamStats()))


# -- 15. stream integrity --------------------------------------------------------------------------------

def _packed(tmp_path, n=10, size=64):
    lines = [json.dumps({"at": i * 0.1, "event": "write", "source": 1, "hex": "00" * size}) for i in range(n)]
    (tmp_path / "ev.jsonl").write_text("\n".join(lines) + "\n")
    assert _run(["stream", "pack", str(tmp_path / "ev.jsonl"), str(tmp_path / "ev.rpl")]).returncode == 0
    return (tmp_path / "ev.rpl").read_bytes()


def test_pack_refuses_a_write_that_unpack_would_reject(tmp_path):
    (tmp_path / "big.jsonl").write_text(json.dumps({"at": 0, "event": "write", "source": 1,
                                                    "hex": "00" * ((1 << 20) + 1)}) + "\n")
    proc = _run(["stream", "pack", str(tmp_path / "big.jsonl"), str(tmp_path / "o")])
    assert proc.returncode == 2 and "larger than a packed frame carries" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_unpack_of_a_stream_cut_mid_frame_counts_the_loss(tmp_path):
    raw = _packed(tmp_path)
    frame = (len(raw) - 8 - 28) // 10            # ten equal write frames, then the end frame
    (tmp_path / "cut.rpl").write_bytes(raw[:8 + 6 * frame + frame // 2])
    proc = _run(["stream", "unpack", str(tmp_path / "cut.rpl"), "-o", str(tmp_path / "out.jsonl")])
    assert proc.returncode == 1
    assert "7 frames, 6 unpacked, 1 rejected, stream damaged" in proc.stderr and "cut short" in proc.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 6


def test_garbage_after_the_end_frame_is_reported(tmp_path):
    raw = _packed(tmp_path)
    (tmp_path / "g.rpl").write_bytes(raw + b"garbage!")
    proc = _run(["stream", "unpack", str(tmp_path / "g.rpl"), "-o", str(tmp_path / "out.jsonl")])
    assert proc.returncode == 1 and "8 bytes after the end frame" in proc.stderr
    (tmp_path / "z.rpl").write_bytes(raw + bytes(100))           # zero padding is not garbage
    assert _run(["stream", "unpack", str(tmp_path / "z.rpl"), "-o", str(tmp_path / "o2")]).returncode == 0


def test_truncated_last_jsonl_line_keeps_the_run(tmp_path):
    (tmp_path / "t.aml").write_bytes(HEST_RAW)
    (tmp_path / "ev.jsonl").write_text('{"at": 0, "event": "tick"}\n{"at": 0.5, "event": "tick"}\n{"at": 1.0, "ev')
    proc = _run(["replay", "--hest", str(tmp_path / "t.aml"), "-f", "json", str(tmp_path / "ev.jsonl")])
    assert proc.returncode == 1 and "line 3: the last line is cut short" in proc.stderr
    stream = json.loads(proc.stdout)["stream"]
    assert stream["total"] == 3 and stream["processed"] == 2 and stream["rejected"] == 1
    # a bad line that is not the last is an error: the file is not what it claims to be
    (tmp_path / "mid.jsonl").write_text('{"at": 0, "ev\n{"at": 0.5, "event": "tick"}\n')
    proc = _run(["replay", "--hest", str(tmp_path / "t.aml"), str(tmp_path / "mid.jsonl")])
    assert proc.returncode == 2 and "line 1: invalid JSON" in proc.stderr


# -- 16. Ctrl-C with --jobs, misleading messages ------------------------------------------------------

def test_ctrl_c_during_parallel_decode_leaves_no_traceback(tmp_path):
    import signal
    import time
    from apeitool.gen import mixed_records
    data = b"".join(raw for _k, raw in mixed_records(3000, seed=3)) * 60
    (tmp_path / "big.cper").write_bytes(data)
    proc = subprocess.Popen([sys.executable, "-m", "apeitool", "decode", "-f", "jsonl", "--jobs", "2",
                             str(tmp_path / "big.cper"), "-o", str(tmp_path / "out.jsonl")],
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 30
    while not list(tmp_path.glob(".apeitool-*")) and time.time() < deadline:
        time.sleep(0.05)                    # the output has begun: workers are busy
    time.sleep(0.5)
    assert proc.poll() is None, "the decode ended before it could be interrupted: make the input larger"
    os.killpg(proc.pid, signal.SIGINT)     # what the terminal sends: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and err.strip() == "apeitool: error: interrupted"
    assert not (tmp_path / "out.jsonl").exists() and not list(tmp_path.glob(".apeitool-*"))


def test_messages_name_what_the_command_takes(tmp_path):
    (tmp_path / "t.aml").write_bytes(HEST_RAW)
    proc = _run(["stream", "unpack", str(tmp_path / "t.aml")])
    assert proc.returncode == 2 and "--notify" not in proc.stderr and "not a packed replay stream" in proc.stderr


def test_endless_repeated_frames_end_the_read(monkeypatch):
    """A fuzzer finding: a packed stream whose frames repeat for ever (numbers starting over, no
    end frame) yielded nothing and never ended; now a bounded run of unusable frames ends it."""
    import io
    import random
    from apeitool.fuzz import Endless, _Chain
    from apeitool.replay import stream as st
    monkeypatch.setattr(st, "MAX_GARBAGE", 1 << 20)
    buf = io.BytesIO()
    st.pack_events([st.Event(0.1 * i, "tick") for i in range(20)], buf)
    frames = buf.getvalue()[len(st.FILE_MAGIC):-32]          # the frames, without the 32-byte end frame
    source = io.BufferedReader(_Chain(io.BytesIO(st.FILE_MAGIC), Endless("seed", frames, random.Random(1))))
    stats = st.StreamStats()
    events = list(st.read_packed(source, "endless", stats))
    assert len(events) == 20 and stats.damaged and len(stats.problems) <= st.MAX_PROBLEMS + 2
    assert any("no usable frame" in p for p in stats.problems)


def test_jsonl_decode_of_a_fifo_reads_it_once(tmp_path):
    """A table through a FIFO (or a shell's <(...)): the input is opened once; reading it a second
    time found the pipe empty."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: open(fifo, "wb").write(HEST_RAW))
    writer.start()
    proc = _run(["decode", "-f", "jsonl", str(fifo)])
    writer.join(30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["header"]["signature"] == "HEST"
