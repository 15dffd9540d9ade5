"""Malformed HESTs: a warning where the data allows decoding, otherwise one line with offset and field."""
import re
import subprocess
import sys

import pytest

import apeitool
from apeitool.errors import ApeiError, DecodeError

from conftest import CORPUS, corpus_params

# file -> (kind, field named in the message, offset in the message)
EXPECTED = {
    "hest-bad-checksum.aml": ("warn", "header.checksum", 0x9),
    "hest-count-0.aml": ("warn", "error_source_count", 0x24),
    "hest-count-2.aml": ("warn", "error_source_count", 0x24),
    "hest-count-9.aml": ("warn", "error_source_count", 0x24),
    "hest-count-ffffffff.aml": ("warn", "error_source_count", 0x24),
    "hest-notify-length-0x10.aml": ("warn", "sources[4].notify.length", 0x175),
    "hest-mce-banks-0.aml": ("warn", "error_source_count", 0x24),
    "hest-trunc-040-len-fixed.aml": ("warn", "error_source_count", 0x24),
    "hest-len-0x10.aml": ("error", "header.length", 0x4),
    "hest-len-bigger-0x300.aml": ("error", "header.length", 0x4),
    "hest-len-smaller-0x200.aml": ("error", "sources[6].notify.polling_threshold_value", 0x200),
    "hest-mce-banks-64.aml": ("error", "sources[0].num_hardware_banks", 0x48),
    "hest-trunc-030-hdrlen-kept.aml": ("error", "header", 0x1E),
    "hest-trunc-036-hdrlen-kept.aml": ("error", "header.length", 0x4),
    "hest-trunc-040-hdrlen-kept.aml": ("error", "header.length", 0x4),
    "hest-trunc-100-hdrlen-kept.aml": ("error", "header.length", 0x4),
    "hest-trunc-136-hdrlen-kept.aml": ("error", "header.length", 0x4),
    "hest-trunc-400-hdrlen-kept.aml": ("error", "header.length", 0x4),
    "hest-trunc-635-hdrlen-kept.aml": ("error", "header.length", 0x4),
    "hest-trunc-100-len-fixed.aml": ("error", "sources[0].num_hardware_banks", 0x48),
    "hest-trunc-400-len-fixed.aml": ("error", "sources[4].error_status_block_length", 0x190),
    "hest-trunc-512-len-fixed.aml": ("error", "sources[6].notify.polling_threshold_value", 0x200),
    "hest-trunc-635-len-fixed.aml": ("error", "sources[7].num_hardware_banks", 0x25C),
    "hest-unknown-type-3.aml": ("error", "sources[1].type", 0x3C),
    "hest-unknown-type-12.aml": ("error", "sources[1].type", 0x3C),
    "hest-unknown-type-65535.aml": ("error", "sources[1].type", 0x3C),
    "bert-trunc-40-len-fixed.aml": ("error", "boot_error_region_address", 0x28),
    "einj-trunc-100-len-fixed.aml": ("error", "entries[1].value", 0x64),
    "erst-trunc-100-len-fixed.aml": ("error", "entries[1].value", 0x64),
}


def test_every_malformed_hest_is_listed():
    present = {p.name for p in (CORPUS / "iasl" / "malformed").glob("*.aml")} if CORPUS.is_dir() else set()
    if not present:
        pytest.skip("corpus not present")
    assert present == set(EXPECTED)


@pytest.mark.parametrize("path", corpus_params("iasl/malformed/*.aml"))
def test_library_result(path):
    kind, field, offset = EXPECTED[path.name]
    if kind == "warn":
        [t] = apeitool.decode(str(path))
        assert any(w.field == field and w.offset == offset for w in t.warnings), t.warnings
        assert apeitool.build(t.model) == path.read_bytes()  # broken tables still round-trip
    else:
        with pytest.raises(DecodeError) as info:
            apeitool.decode(str(path))
        assert (info.value.field, info.value.offset) == (field, offset)


@pytest.mark.parametrize("path", corpus_params("iasl/malformed/*.aml"))
def test_cli_one_line_no_traceback(path):
    kind, field, offset = EXPECTED[path.name]
    proc = subprocess.run([sys.executable, "-m", "apeitool", "decode", "-f", "json", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if kind == "error":
        assert proc.returncode == 2 and proc.stdout == ""
        assert len(lines) == 1
        assert re.match(rf"apeitool: error: .*{re.escape(path.name)}: offset 0x{offset:X}: "
                        rf"{re.escape(field)}: ", lines[0]), lines[0]
    else:
        assert proc.returncode == 0 and proc.stdout.startswith("{")
        assert any(f"offset 0x{offset:X}: {field}:" in line for line in lines)
        assert all(line.startswith("apeitool: warning: ") for line in lines)


def test_truncation_at_every_length_is_clean():
    """Cut a full-featured table at every byte (with Table Length fixed up): decode or a DecodeError."""
    from apeitool.schemas.header import checksum_byte
    from apeitool.specs import load_spec
    from conftest import FIXTURES
    data = apeitool.build(load_spec(str(FIXTURES / "hest" / "all-types.yaml")), "hest")
    for n in range(4, len(data)):  # shorter than a signature is "not a table" (tested apart)
        cut = bytearray(data[:n])
        if n >= 8:
            cut[4:8] = n.to_bytes(4, "little")
        if n >= 10:
            cut[9] = checksum_byte(bytes(cut))
        try:
            apeitool.decode_bytes(bytes(cut))
        except ApeiError as e:
            assert e.offset is not None and e.offset <= max(n, 4), (n, e)
