"""Errors and warnings that carry where in the input they happened.

Every message the CLI prints for bad input is one line: file, byte offset, field path, what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


def _where(source: Optional[str], offset: Optional[int], field: Optional[str]) -> str:
    parts = []
    if source:
        parts.append(source)
    if offset is not None:
        parts.append(f"offset 0x{offset:X}")
    if field:
        parts.append(field)
    return ": ".join(parts)


class ApeiError(Exception):
    """Base class: input or spec the tool cannot use."""

    def __init__(self, message: str, offset: Optional[int] = None,
                 field: Optional[str] = None, source: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.field = field
        self.source = source

    def with_source(self, source: str) -> "ApeiError":
        if not self.source:
            self.source = source
        return self

    def one_line(self) -> str:
        where = _where(self.source, self.offset, self.field)
        return f"{where}: {self.message}" if where else self.message

    def __str__(self) -> str:
        return self.one_line()


class DecodeError(ApeiError):
    """Binary input that cannot be decoded (truncated, lying lengths, unknown types, garbage)."""


class SpecError(ApeiError):
    """A build spec (YAML/JSON) that cannot be built."""


class InputError(ApeiError):
    """Input that is not recognised at all (not a table, not a dump, unreadable)."""


@dataclass
class DecodeWarning:
    """Something wrong with the input that decoding could work around (bad checksum, count mismatch)."""
    message: str
    offset: Optional[int] = None
    field: Optional[str] = None
    source: Optional[str] = None

    def one_line(self) -> str:
        where = _where(self.source, self.offset, self.field)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return {"offset": self.offset, "field": self.field, "message": self.message}
