"""Instruction entries shared by EINJ and ERST (32 bytes): ACPI 6.5 §18.6.2 (Injection Instruction
Entry) and §18.5.1 (Serialization Instruction Entry). Only the action and instruction vocabularies differ.
"""
from construct import Default, Struct

from .common import BitFlags, NamedEnum, U8, U64
from .gas import Gas

INSTRUCTION_ENTRY_SIZE = 32

# Instruction flags: bit 0 PRESERVE_REGISTER (keep the register bits outside Mask on writes).
ENTRY_FLAGS = [("preserve_register", 0, "Preserve Register Bits")]


def instruction_entry(action_kind: str, instruction_kind: str):
    entry = Struct(
        "action" / NamedEnum(U8, action_kind) * "Action",
        "instruction" / NamedEnum(U8, instruction_kind) * "Instruction",
        "flags" / Default(BitFlags(U8, ENTRY_FLAGS), 0) * "Flags (decoded below)",
        "reserved" / Default(U8, 0) * "Reserved",
        "register_region" / Gas * "Register Region",
        "value" / Default(U64, 0) * "Value",
        "mask" / Default(U64, 0xFFFFFFFFFFFFFFFF) * "Mask",
    )
    assert entry.sizeof() == INSTRUCTION_ENTRY_SIZE
    return entry
