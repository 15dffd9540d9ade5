"""EINJ body codec (ACPI 6.5 §18.6): header, then injection instruction entries."""
from ..schemas.einj import EinjBody, EinjEntry
from .instructions import InstructionTable

_TABLE = InstructionTable("EINJ", EinjBody, EinjEntry, "injection_entry_count")
BODY_KEYS = _TABLE.BODY_KEYS
COUNT = _TABLE.COUNT
walk, decode_body, build_body, text_tree = (_TABLE.walk, _TABLE.decode_body, _TABLE.build_body,
                                            _TABLE.text_tree)
