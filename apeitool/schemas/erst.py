"""Error Record Serialization Table: ACPI 6.5 §18.5 (header) and §18.5.1 (Serialization Instruction
Entries). Serialization Header Size is kept as given (48 and 12 both occur in real firmware).
"""
from construct import Default, Struct

from .common import U32
from .instruction import instruction_entry

ERST_HEADER_SIZE = 48

ErstBody = Struct(
    "serialization_header_size" / Default(U32, ERST_HEADER_SIZE) * "Serialization Header Length",
    "reserved" / Default(U32, 0) * "Reserved",
    "instruction_entry_count" / U32 * "Instruction Entry Count",
)

ErstEntry = instruction_entry("erst_action", "erst_instruction")
