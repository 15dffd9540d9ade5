"""The bounded fuzz run CI does on every change: every decoder, mutated seeds (the corpus too when
it is present), each case a decode, a clean one-line error, or findings. The long run is
`python -m apeitool.fuzz --n 1000000`."""
from __future__ import annotations

import pytest

from apeitool.fuzz import DECODERS, fuzz, mutate, mutate_spec
from conftest import CORPUS

CASES = 1500  # per decoder: about half a minute for the whole bounded run on 2 cores
SLOW_CASES = {"endless-io": 150}   # each case reads up to ~100 MiB of an endless input


@pytest.mark.parametrize("decoder", DECODERS)
def test_bounded_fuzz_run_is_clean(decoder):
    n = SLOW_CASES.get(decoder, CASES)
    tally = fuzz(decoder, n, seed=7, corpus=str(CORPUS) if CORPUS.is_dir() else None)
    assert tally.cases == n
    assert tally.failures == 0, tally.examples[:5]
    assert tally.decoded + tally.clean_errors == n
    assert tally.decoded > 0 and tally.clean_errors > 0   # the mutations reach both outcomes


def test_mutations_are_deterministic_and_change_the_input():
    import random
    seed = bytes(range(256)) * 2
    a = [mutate(seed, "cper-record", random.Random(3), [seed]) for _ in range(20)]
    b = [mutate(seed, "cper-record", random.Random(3), [seed]) for _ in range(20)]
    assert a == b and any(x != seed for x in a)
    spec = {"sources": [{"type": "GHES", "source_id": 1}]}
    assert mutate_spec(spec, random.Random(1)) != spec


# -- regressions: what the fuzzer found (each was a traceback) -----------------------------------------

@pytest.mark.parametrize("spec, field", [
    ({"records": [{"header": {}, "sections": [{"descriptor": {"section_type": {"x": 1}}, "body": {}}]}]},
     "records[0].sections[0].body"),                                       # unhashable section type
    ({"records": [{"header": {}, "sections": [{"descriptor": [1, 2], "body": {}}]}]},
     "records[0].sections[0].descriptor"),                                 # descriptor not a mapping
    ({"records": [{"header": "x", "sections": []}]}, "records[0].header"),  # header not a mapping
    ({"form": ["record"], "records": []}, "form"),                          # unhashable form
    ({"records": [{"header": {"record_length": 0xFFFFFFFF}, "sections": []}]},
     "records[0].header.record_length"),                                   # 4 GiB record: refused, not allocated
    ({"records": [{"header": {}, "sections": [{"descriptor": {"section_type": "platform_memory",
                                                              "section_offset": 1 << 40}, "body": {}}]}]},
     "records[0].sections[0].descriptor.section_offset"),                   # offset past 32 bits / 16 MiB
    ({"records": [{"header": {}, "sections": [], "unparsed": [{"offset": -5, "data": "00"}]}]},
     "records[0].unparsed[0].offset"),
    ({"records": [{"sections": [{"descriptor": {"section_type": "platform_memory", "section_severity": {}},
                                 "body": {}}]}]},
     "records[0].sections[0].descriptor.section_severity"),                # unhashable severity, no header one
    ({"blocks": [{"entries": [{"section_type": "platform_memory", "error_severity": {}, "body": {}}]}]},
     "blocks[0].entries[0].error_severity"),                                # the same in a status block
])
def test_spec_regressions_are_clean_errors(spec, field):
    from apeitool.cper import build_document
    from apeitool.errors import SpecError
    with pytest.raises(SpecError) as err:
        build_document(spec)
    assert err.value.field == field and "\n" not in err.value.one_line()
