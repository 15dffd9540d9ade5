"""Error Injection table: ACPI 6.5 §18.6.1 (header) and §18.6.2 (Injection Instruction Entries).

Injection Header Size is kept as given: firmware writes both 48 (header including the ACPI header)
and 12 (the EINJ-specific part); entries always start at byte 48.
"""
from construct import Default, Struct

from .common import U, U8, U32
from .instruction import instruction_entry

EINJ_HEADER_SIZE = 48

EinjBody = Struct(
    "injection_header_size" / Default(U32, EINJ_HEADER_SIZE) * "Injection Header Length",
    "injection_flags" / Default(U8, 0) * "Flags",
    "reserved" / Default(U(3), 0) * "Reserved",
    "injection_entry_count" / U32 * "Injection Entry Count",
)

EinjEntry = instruction_entry("einj_action", "einj_instruction")
