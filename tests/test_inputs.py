"""Input detection: raw, acpidump text, iasl .dsl, xxd, hexdump -C, bare hex, and garbage."""
import subprocess

import pytest

import apeitool
from apeitool.errors import ApeiError, InputError
from apeitool.inputs import read_input, split_input

from conftest import FIXTURES


@pytest.fixture(scope="module")
def table():
    from apeitool.specs import load_spec
    return apeitool.build(load_spec(str(FIXTURES / "hest" / "all-types.yaml")), "hest")


def acpidump_text(tables):
    """The text `acpidump` prints: 'SIG @ 0x...' then 16-byte rows with an ASCII column."""
    out = []
    for sig, data in tables:
        out.append(f"{sig} @ 0x00000000BF7A2000")
        for off in range(0, len(data), 16):
            chunk = data[off:off + 16]
            hexes = " ".join(f"{b:02X}" for b in chunk).ljust(47)
            text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
            out.append(f"    {off:04X}: {hexes}  {text}")
        out.append("")
    return "\n".join(out) + "\n"


def test_raw(table):
    [item] = split_input(table, "x")
    assert item.data == table and item.signature == "HEST"


def test_acpidump_picks_supported_tables(table):
    facp = b"FACP" + (48).to_bytes(4, "little") + bytes(40)
    text = acpidump_text([("FACP", facp), ("HEST", table), ("SSDT", facp), ("SSDT", facp)])
    items = split_input(text.encode(), "dump.txt")
    assert [i.label for i in items] == ["dump.txt[FACP]", "dump.txt[HEST]", "dump.txt[SSDT#1]",
                                        "dump.txt[SSDT#2]"]
    [t] = apeitool.decode_bytes(text.encode(), "dump.txt")
    assert t.label == "dump.txt[HEST]" and t.data == table


def test_acpidump_table_option(tmp_path, table):
    path = tmp_path / "dump.txt"
    path.write_text(acpidump_text([("HEST", table)]))
    assert read_input(str(path), "hest")[0].data == table
    with pytest.raises(InputError, match=r"no BERT table in the input \(found: HEST\)"):
        read_input(str(path), "BERT")


def test_acpidump_gap_is_reported(table):
    text = acpidump_text([("HEST", table)]).replace("    0010:", "    0020:", 1)
    with pytest.raises(InputError, match=r"line 3 has offset 0x20, expected 0x10"):
        split_input(text.encode(), "dump.txt")


def test_iasl_dsl_raw_data(table):
    from apeitool.render.iasl import render
    [item] = split_input(render(table).encode(), "t.dsl")
    assert item.data == table


def test_xxd_and_hexdump(tmp_path, table):
    path = tmp_path / "t.aml"
    path.write_bytes(table)
    for cmd in (["xxd", str(path)], ["hexdump", "-C", str(path)], ["od", "-An", "-tx1", str(path)]):
        try:
            text = subprocess.run(cmd, capture_output=True, check=True).stdout
        except FileNotFoundError:
            continue
        [item] = split_input(text, cmd[0])
        assert item.data == table, cmd


def test_hexdump_c_repeat_star():
    data = b"HEST" + bytes(60)  # rows of zeros collapse into '*'
    text = ("00000000  48 45 53 54 00 00 00 00  00 00 00 00 00 00 00 00  |HEST............|\n"
            "00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
            "*\n"
            "00000040\n")
    [item] = split_input(text.encode(), "hd")
    assert item.data == data


def test_bare_hex(table):
    [item] = split_input(table.hex().encode() + b"\n", "hex")
    assert item.data == table


@pytest.mark.parametrize("data, words", [
    (b"", "empty input"),
    (b"hello world, not a table\n", "not an ACPI table"),
    (bytes(range(256)), "not an ACPI table"),
    (b"DSDT" + bytes(60), "unsupported table signature 'DSDT'"),
])
def test_garbage(data, words):
    with pytest.raises(InputError, match=words):
        split_input(data, "g")


def test_unreadable_paths(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        read_input(str(tmp_path))
    with pytest.raises(InputError, match="No such file"):
        read_input(str(tmp_path / "missing"))


def test_sysfs_style_path(tmp_path, table):
    # /sys/firmware/acpi/tables/HEST is a raw table file; a copy stands in for it
    sysfs = tmp_path / "sys" / "firmware" / "acpi" / "tables"
    sysfs.mkdir(parents=True)
    (sysfs / "HEST").write_bytes(table)
    [t] = apeitool.decode(str(sysfs / "HEST"))
    assert t.kind == "hest"


def test_decode_error_carries_label(table):
    broken = bytearray(table)
    broken[40:42] = (3).to_bytes(2, "little")
    with pytest.raises(ApeiError) as info:
        apeitool.decode_bytes(bytes(broken), "fw.bin")
    assert info.value.one_line().startswith("fw.bin: offset 0x28: sources[0].type: ")
