"""construct schemas, one module per spec object; each names the spec section it follows.

The CPER structures are exported here under stable names for library users (they load on first
use, so the table commands do not pay for them):

    from apeitool.schemas import PlatformMemory
    section = PlatformMemory.parse(data)       # a construct Container
    section.physical_address, PlatformMemory.build(section) == data

SECTION_SCHEMAS maps a section key ('platform_memory') and SECTION_SCHEMAS_BY_GUID a section type
GUID to the schema of its body. The fast path the decoder runs is generated from these
(schemas/fast.py).
"""
from importlib import import_module

_EXPORTS = {
    "cper": ["RecordHeader", "SectionDescriptor", "ErrorStatusBlock", "GenericErrorDataEntry",
             "GenericErrorDataEntryV300"],
    "sections": ["ProcessorGeneric", "Ia32x64", "Ia32x64ErrorInfo", "Ia32x64Context", "Arm", "ArmErrorInfo",
                 "ArmContext", "PlatformMemory", "PlatformMemory2", "Pcie", "PcieDeviceId", "PciBus",
                 "PciComponent", "RegisterPair", "FirmwareErrorRecord", "DmarGeneric", "DmarVtd", "DmarIommu",
                 "CcixPer", "CxlProtocol", "CxlComponent", "FruMemoryPoison", "FruPoisonDescriptor",
                 "ArmRasNode", "ArmRasSyndrome", "Ampere", "Nvidia", "NvidiaEvent", "NvidiaEventContext",
                 "SECTION_SCHEMAS"],
    "cper_fields": ["Valid", "Hex", "Guid", "SectionType", "Text", "Names", "BitFields", "Timestamp"],
    "header": ["SdtHeader"],
    "gas": ["Gas"],
    "notify": ["Notify"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE) + ["SECTION_SCHEMAS_BY_GUID"]


def __getattr__(name):
    if name == "SECTION_SCHEMAS_BY_GUID":
        from ..guids import SECTION_TYPES
        schemas = import_module(".sections", __name__).SECTION_SCHEMAS
        return {SECTION_TYPES[key][0]: schema for key, schema in schemas.items()}
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
