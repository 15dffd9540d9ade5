"""ERST body codec (ACPI 6.5 §18.5): header, then serialization instruction entries."""
from ..schemas.erst import ErstBody, ErstEntry
from .instructions import InstructionTable

_TABLE = InstructionTable("ERST", ErstBody, ErstEntry, "instruction_entry_count")
BODY_KEYS = _TABLE.BODY_KEYS
COUNT = _TABLE.COUNT
walk, decode_body, build_body, text_tree = (_TABLE.walk, _TABLE.decode_body, _TABLE.build_body,
                                            _TABLE.text_tree)
