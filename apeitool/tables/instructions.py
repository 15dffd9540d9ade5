"""EINJ and ERST bodies: a fixed header, then 32-byte instruction entries up to Table Length.

The entry count is kept as given (the iasl EINJ template says 10 and holds 8), so a mismatch stays
visible; a partial trailing entry is an error naming the field where the table ends.
"""
from __future__ import annotations

from ..errors import DecodeWarning, SpecError
from ..model import build_fixed, parse_fixed
from ..schemas.common import parse_int, struct_offset
from ..schemas.instruction import INSTRUCTION_ENTRY_SIZE


class InstructionTable:
    def __init__(self, name: str, body, entry, count_field: str, entries_field: str = "entries"):
        self.name = name
        self.body = body
        self.entry = entry
        self.count_field = count_field
        self.entries_field = entries_field
        self.header_size = 36 + body.sizeof()
        self.BODY_KEYS = tuple(n.name for n in body.subcons) + (entries_field,)
        self.COUNT = (count_field, entries_field)

    def walk(self, table: bytes):
        yield 36, self.body, ""
        offset, index = self.header_size, 0
        while offset < len(table):
            yield offset, self.entry, f"{self.entries_field}[{index}]"
            offset += INSTRUCTION_ENTRY_SIZE
            index += 1

    def decode_body(self, table: bytes, warnings: list) -> dict:
        body, entries = None, []
        for offset, struct, path in self.walk(table):
            if struct is self.body:
                body = parse_fixed(struct, table, offset, path, f"the {self.name} header")
            else:
                entries.append(parse_fixed(struct, table, offset, path, f"{self.name} {path}"))
        body[self.entries_field] = entries
        if body[self.count_field] != len(entries):
            warnings.append(DecodeWarning(
                f"{self.count_field.replace('_', ' ').capitalize()} says {body[self.count_field]}, "
                f"the table holds {len(entries)} entries", offset=36 + struct_offset(self.body, self.count_field),
                field=self.count_field))
        return body

    def build_body(self, model: dict) -> bytes:
        entries = model.get(self.entries_field) or []
        if not isinstance(entries, list):
            raise SpecError("expected a list of instruction entries", field=self.entries_field)
        head = {k: model[k] for k in self.BODY_KEYS[:-1] if k in model and model[k] is not None}
        if self.count_field not in head:
            head[self.count_field] = len(entries)
        try:
            head[self.count_field] = parse_int(head[self.count_field], self.count_field)
        except ValueError as e:
            raise SpecError(str(e), field=self.count_field)
        out = build_fixed(self.body, head, "")
        for i, entry in enumerate(entries):
            out += build_fixed(self.entry, entry, f"{self.entries_field}[{i}]")
        return out

    def text_tree(self, root, model: dict, add_struct):
        add_struct(root, self.body, model, 36)
        offset = self.header_size
        for i, entry in enumerate(model.get(self.entries_field, [])):
            node = root.add(f"entry {i}: [bold]{entry['action']}[/bold] / {entry['instruction']} "
                            f"[dim]@0x{offset:X}[/dim]")
            add_struct(node, self.entry, entry, offset)
            offset += INSTRUCTION_ENTRY_SIZE
