"""Mutated tables (bit flips, cuts, extreme length fields, splices): decode, or one ApeiError line.

A bounded smoke run; the long fuzzing harness belongs to the robustness work.
"""
import random

import pytest

import apeitool
from apeitool.errors import ApeiError
from apeitool.render import data as data_render, iasl, text
from apeitool.specs import load_spec

from conftest import TABLE_FIXTURES


def seeds():
    return [apeitool.build(load_spec(str(p)), p.parent.name) for p in TABLE_FIXTURES]


def mutate(rng, tables):
    d = bytearray(rng.choice(tables))
    op = rng.randrange(5)
    if op == 0:
        for _ in range(rng.randint(1, 4)):
            d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
    elif op == 1:
        d = d[:rng.randrange(len(d))]
    elif op == 2:
        o = rng.randrange(len(d))
        d[o:o + 4] = rng.choice([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x10\0\0\0"])
    elif op == 3:
        o = rng.randrange(36, len(d))
        d[o:o + 2] = rng.randrange(16).to_bytes(2, "little")
    else:
        other = rng.choice(tables)
        d = d[:rng.randrange(len(d))] + other[rng.randrange(len(other)):]
    if rng.random() < 0.5 and len(d) >= 10:
        d[4:8] = len(d).to_bytes(4, "little")
    return bytes(d)


@pytest.mark.parametrize("seed", range(4))
def test_mutations_end_cleanly(seed):
    rng = random.Random(seed)
    tables = seeds()
    decoded = failed = 0
    for _ in range(250):
        d = mutate(rng, tables)
        try:
            results = apeitool.decode_bytes(d, "fuzz")
        except ApeiError as e:
            assert "\n" not in e.one_line()
            failed += 1
            continue
        for r in results:
            assert apeitool.build(r.model) == r.data
            iasl.render(r.data)
            text.render(r.model, r.label, r.warnings)
            data_render.to_json(r.model)
        decoded += 1
    assert decoded and failed  # the mix exercises both paths
