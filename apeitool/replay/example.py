"""The built-in scenario of `replay --example`: QEMU's arm64 virt HEST and a burst of guest memory
errors delivered by SEA (what QEMU does after SIGBUS BUS_MCEERR_AR), some of them repeats."""
from __future__ import annotations

from typing import Iterator

from .stream import Event

SEA = 8


def example_hest() -> dict:
    import apeitool
    from importlib import resources
    from ..specs import parse_spec_text
    text = resources.files("apeitool").joinpath("data/example-hest.yaml").read_text()
    raw = apeitool.build(parse_spec_text(text, "<built-in example>"), "hest")
    return apeitool.decode_bytes(raw, "<built-in example HEST>")[0].model


def example_events() -> Iterator[Event]:
    """12 memory errors 10 ms apart on source 0 over 4 pages (the later ones repeat the first ones:
    the estatus cache throttles those it printed), then one written to source 1 with no notification."""
    import apeitool
    from ..cli import memory_error_spec
    for i in range(12):
        pa = 0x40000000 + (i % 4) * 0x1000
        block = apeitool.build(memory_error_spec(pa, "recoverable", True), "estatus")
        yield Event(i * 0.01, "write_notify", 0, i % 2, SEA, block, where=f"example event {i}")
    block = apeitool.build(memory_error_spec(0x48000000, "corrected", True), "estatus")
    yield Event(0.5, "write", 1, 0, None, block, where="example event 12")
