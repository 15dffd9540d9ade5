"""The shared field types and fixed structures keep every bit."""
import pytest
from construct import MappingError

from apeitool.schemas.common import BitFlags, FixedName, NamedEnum, U8, U16, parse_int
from apeitool.schemas.gas import Gas
from apeitool.schemas.header import SdtHeader, checksum_byte
from apeitool.schemas.hest import SOURCE_STRUCTS
from apeitool.schemas.notify import Notify
from apeitool.model import field_at, to_plain


def test_named_enum_unknown_values_round_trip():
    e = NamedEnum(U8, "notify_type")
    assert e.parse(b"\x08") == "SEA"
    assert e.parse(b"\x7f") == 0x7F
    assert e.build(0x7F) == b"\x7f" and e.build("GPIO") == b"\x07"
    with pytest.raises(MappingError):
        e.build("NOPE")


def test_bitflags_keep_reserved_bits():
    f = BitFlags(U16, [("a", 0, None), ("c", 2, None)])
    value = f.parse(b"\x0d\x80")
    assert value == {"a": True, "c": True, "reserved": 0x8008}
    assert f.build(value) == b"\x0d\x80"
    with pytest.raises(MappingError):
        f.build({"a": True, "reserved": 1})  # reserved overlapping a named bit


def test_fixed_name_latin1_and_padding():
    n = FixedName(6)
    assert n.parse(b"AMI\0\0\0") == "AMI"
    assert n.parse(b"A\xffB\0C\0") == "A\xffB\0C"
    assert n.build("A\xffB\0C") == b"A\xffB\0C\0"


def test_parse_int_forms():
    assert parse_int("0x1F") == 31 and parse_int("1_000") == 1000 and parse_int(True) == 1
    with pytest.raises(ValueError):
        parse_int("twelve")


def test_structure_sizes_match_spec():
    assert SdtHeader.sizeof() == 36 and Gas.sizeof() == 12 and Notify.sizeof() == 28
    assert {t: s.sizeof() for t, (s, _) in SOURCE_STRUCTS.items()} == {
        0: 40, 1: 48, 2: 20, 6: 48, 7: 44, 8: 56, 9: 64, 10: 92, 11: 48}


def test_every_source_struct_round_trips_arbitrary_bytes():
    import random
    rng = random.Random(7)
    for t, (struct, _banks) in SOURCE_STRUCTS.items():
        for _ in range(50):
            raw = bytearray(rng.randbytes(struct.sizeof()))
            raw[0:2] = t.to_bytes(2, "little")
            assert struct.build(to_plain(struct.parse(bytes(raw)))) == bytes(raw)


def test_checksum_byte_makes_sum_zero():
    data = bytearray(b"HEST" + bytes(40))
    data[9] = checksum_byte(bytes(data))
    assert sum(data) % 256 == 0


def test_field_at_names_nested_fields():
    ghes = SOURCE_STRUCTS[9][0]
    assert field_at(ghes, 0) == "type"
    assert field_at(ghes, 24) == "error_status_address.address"
    assert field_at(ghes, 33, "sources[2]") == "sources[2].notify.length"
