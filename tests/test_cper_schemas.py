"""The CPER construct schemas are the one source of truth: construct's own parse/build and the
generated fast path agree on every section type, header and corpus record."""
import random
import struct

import pytest
from construct import Container, ListContainer

import apeitool
from apeitool import schemas
from apeitool.cper.body import build_body, decode_body
from apeitool.gen import section_body
from apeitool.guids import SECTION_TYPES
from apeitool.schemas.cper import (DATA_ENTRY_V300, ERROR_STATUS_BLOCK, RECORD_HEADER, SECTION_DESCRIPTOR,
                                   ErrorStatusBlock, GenericErrorDataEntryV300, RecordHeader, SectionDescriptor)
from apeitool.schemas.fast import Compiled
from apeitool.schemas.sections import BODIES, SECTION_SCHEMAS
from conftest import corpus_params


def plain(obj):
    """construct's Container/ListContainer as the model's dicts and lists (without '_io')."""
    if isinstance(obj, (Container, dict)):
        return {k: plain(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, (ListContainer, list)):
        return [plain(v) for v in obj]
    return obj


@pytest.mark.parametrize("key", sorted(SECTION_SCHEMAS))
def test_construct_and_fast_path_agree_on_random_sections(key):
    schema = SECTION_SCHEMAS[key]
    rng = random.Random(key)
    for _ in range(40):
        data = build_body(key, section_body(key, rng))
        model, error = decode_body(key, data)
        assert error is None
        assert plain(schema.parse(data)) == model
        assert schema.build(model) == data


def test_fixed_structures_are_generated_from_their_schema():
    for layout in [RECORD_HEADER, SECTION_DESCRIPTOR, ERROR_STATUS_BLOCK, DATA_ENTRY_V300,
                   *(b.layout for b in BODIES.values())]:
        assert isinstance(layout, Compiled)
        assert layout.size == layout.schema.sizeof()
        assert layout.names == [sc.name for sc in layout.schema.subcons]
    assert (RECORD_HEADER.size, SECTION_DESCRIPTOR.size, ERROR_STATUS_BLOCK.size, DATA_ENTRY_V300.size) == \
        (128, 72, 20, 72)


@pytest.mark.parametrize("schema,fast", [(RecordHeader, RECORD_HEADER), (SectionDescriptor, SECTION_DESCRIPTOR),
                                         (ErrorStatusBlock, ERROR_STATUS_BLOCK),
                                         (GenericErrorDataEntryV300, DATA_ENTRY_V300)])
def test_headers_keep_every_bit_both_ways(schema, fast):
    rng = random.Random(schema.title)
    for _ in range(200):
        data = rng.randbytes(fast.size)
        model = fast.parse(data)
        assert plain(schema.parse(data)) == model
        assert schema.build(model) == data == fast.build(model, set_valid_bits=False)


def test_validation_bits_are_declared_in_the_schema():
    memory = BODIES["platform_memory"].layout
    assert memory.valid_bits["physical_address"] == 1 and memory.valid_bits["module_handle"] == 17
    assert memory.is_valid({"validation_bits": 0b10}, "physical_address")
    assert not memory.is_valid({"validation_bits": 0b01}, "physical_address")
    # a spec that omits the validation field gets the bits of the fields it gives
    data = build_body("platform_memory", {"physical_address": 0x1000, "node": 1})
    assert struct.unpack_from("<Q", data)[0] == (1 << 1) | (1 << 3)


def test_public_names_and_guid_mapping():
    assert schemas.PlatformMemory is SECTION_SCHEMAS["platform_memory"]
    by_guid = schemas.SECTION_SCHEMAS_BY_GUID
    assert by_guid[SECTION_TYPES["arm"][0]] is schemas.Arm
    assert set(by_guid) == {SECTION_TYPES[k][0] for k in SECTION_SCHEMAS}
    with pytest.raises(AttributeError):
        schemas.NoSuchSchema  # noqa: B018


def test_readme_library_example():
    data = build_body("platform_memory", {"physical_address": 0x40FA6000, "node": 1})
    section = schemas.PlatformMemory.parse(data)
    assert section.physical_address == 0x40FA6000 and section.node == 1
    assert schemas.PlatformMemory.build(section) == data


def _sections(raw: bytes):
    """(section type key, body bytes) of each section of the records in `raw`."""
    pos = 0
    while pos + 128 <= len(raw):
        hdr = RECORD_HEADER.parse(raw, pos)
        for i in range(hdr["section_count"]):
            d = SECTION_DESCRIPTOR.parse(raw, pos + 128 + 72 * i)
            yield d["section_type"], raw[pos + d["section_offset"]:pos + d["section_offset"] + d["section_length"]]
        pos += hdr["record_length"] or len(raw)


@pytest.mark.parametrize("path", corpus_params("libcper/allvalid-*.cper", "libcper/single-*.cper",
                                                "libcper/multi-*.cper"))
def test_construct_parses_libcper_sections_as_the_decoder_does(path):
    raw = path.read_bytes()
    for key, body in _sections(raw):
        if key not in SECTION_SCHEMAS:
            continue
        model, error = decode_body(key, body)
        if error is not None or "extra" in model or "truncated_length" in model:
            continue                       # what the tolerant walk keeps, construct would refuse
        assert plain(SECTION_SCHEMAS[key].parse(body)) == model
        assert SECTION_SCHEMAS[key].build(model) == body
    doc = apeitool.decode_bytes(raw)[0]
    assert apeitool.build(doc.model, "cper") == raw
