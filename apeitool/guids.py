"""Known GUIDs: CPER section types (UEFI 2.10 Appendix N, vendors), notification types, creators.

Section keys (lower_snake) are the model names; the decoder for a key lives in apeitool/cper/sections.
"""
from __future__ import annotations

from typing import Dict, Optional

# key -> (guid, spec/vendor title)
SECTION_TYPES: Dict[str, tuple] = {
    "processor_generic": ("9876ccad-47b4-4bdb-b65e-16f193c4f3db", "Processor Generic"),
    "ia32x64": ("dc3ea0b0-a144-4797-b95b-53fa242b6e1d", "IA32/X64 Processor"),
    "ipf": ("e429faf1-3cb7-11d4-bca7-0080c73c8881", "IPF Processor"),
    "arm": ("e19e3d16-bc11-11e4-9caa-c2051d5d46b0", "ARM Processor"),
    "platform_memory": ("a5bc1114-6f64-4ede-b863-3e83ed7c83b1", "Platform Memory"),
    "platform_memory2": ("61ec04fc-48e6-d813-25c9-8daa44750b12", "Platform Memory 2"),
    "pcie": ("d995e954-bbc1-430f-ad91-b44dcb3c6f35", "PCI Express"),
    "firmware_error_record": ("81212a96-09ed-4996-9471-8d729c8e69ed", "Firmware Error Record Reference"),
    "pci_bus": ("c5753963-3b84-4095-bf78-eddad3f9c9dd", "PCI/PCI-X Bus"),
    "pci_component": ("eb5e4685-ca66-4769-b6a2-26068b001326", "PCI Component/Device"),
    "dmar_generic": ("5b51fef7-c79d-4434-8f1b-aa62de3e2c64", "DMAr Generic"),
    "dmar_vtd": ("71761d37-32b2-45cd-a7d0-b0fedd93e8cf", "Intel VT for Directed I/O specific DMAr"),
    "dmar_iommu": ("036f84e1-7f37-428c-a79e-575fdfaa84ec", "IOMMU specific DMAr"),
    "ccix_per": ("91335ef6-ebfb-4478-a6a6-88b728cf75d7", "CCIX PER Log Error"),
    "cxl_protocol": ("80b9efb4-52b5-4de3-a777-68784b771048", "CXL Protocol Error"),
    "cxl_general_media": ("fbcd0a77-c260-417f-85a9-088b1621eba6", "CXL General Media Component Error"),
    "cxl_dram": ("601dcbb3-9c06-4eab-b8af-4e9bfb5c9624", "CXL DRAM Component Error"),
    "cxl_memory_module": ("fe927475-dd59-4339-a586-79bab113b774", "CXL Memory Module Component Error"),
    "cxl_physical_switch": ("77cf9271-9c02-470b-9fe4-bc7b75f2da97", "CXL Physical Switch Component Error"),
    "cxl_virtual_switch": ("40d26425-3396-4c4d-a5da-3d47263af425", "CXL Virtual Switch Component Error"),
    "cxl_mld_port": ("8dc44363-0c96-4710-b7bf-04bb99534c3f", "CXL MLD Port Component Error"),
    "fru_memory_poison": ("5e4706c1-5356-48c6-930b-52f2120a4458", "FRU Memory Poison"),
    "arm_ras": ("bf32d4d5-b427-4025-8495-8a9e5d4030e4", "ARM RAS Node"),
    "ampere": ("2826cc9f-448c-4c2b-86b6-a95394b7ef33", "Ampere"),
    "nvidia": ("6d5244f2-2712-11ec-bea7-cb3fdb95c786", "NVIDIA"),
    "nvidia_event": ("9068e568-6ca0-11f0-aeaf-159343591eac", "NVIDIA Event"),
}

# GUIDs we can name but whose bodies we keep as raw bytes
OTHER_SECTION_GUIDS: Dict[str, str] = {
    "e3ebf4a2-df50-4708-b2d7-0b29ec2f7aa9": "ARM RAS Node (Windows)",
    "c197e04e-d545-4a70-9c17-a5549419eb12": "Linux pstore dmesg",
    "4f118707-04dd-4055-b5dd-956d34ddfac6": "Linux pstore compressed dmesg",
    "fe08ffbe-95e4-4be7-bc73-4096044a38fc": "Linux pstore MCE",
    "e8ed898d-df16-43cc-8ecc-54f060ef157f": "Ampere (rasdaemon)",
}

NOTIFICATION_TYPES: Dict[str, tuple] = {
    "cmc": ("2dce8bb1-bdd7-450e-b9ad-9cf4ebd4f890", "CMC"),
    "cpe": ("4e292f96-d843-4a55-a8c2-d481f27ebeee", "CPE"),
    "mce": ("e8f56ffe-919c-4cc5-ba88-65abe14913bb", "MCE"),
    "pcie": ("cf93c01f-1a16-4dfc-b8bc-9c4daf67c104", "PCIe"),
    "init": ("cc5263e8-9308-454a-89d0-340bd39bc98e", "INIT"),
    "nmi": ("5bad89ff-b7e6-42c9-814a-cf2485d6e98a", "NMI"),
    "boot": ("3d61a466-ab40-409a-a698-f362d464b38f", "Boot"),
    "dmar": ("667dd791-c6b3-4c27-8a6b-0f8e722deb41", "DMAr"),
    "sea": ("9a78788a-bbe8-11e4-809e-67611e5d46b0", "SEA"),
    "sei": ("5c284c81-b0ae-4e87-a322-b04c85624323", "SEI"),
    "pei": ("09a9d5ac-5204-4214-96e5-94992e752bcd", "PEI"),
    "cxl": ("69293bc9-41df-49a3-b4bd-4fb0db3041f6", "CXL Component"),
}

CREATORS: Dict[str, str] = {
    "75a574e3-5052-4b29-8a8e-be2c6490b89d": "Linux pstore",
}

IA32X64_CHECK_TYPES: Dict[str, tuple] = {
    "cache": ("a55701f5-e3ef-43de-ac72-249b573fad2c", "Cache Check Error"),
    "tlb": ("fc06b535-5e1f-4562-9f25-0a3b9adb63c3", "TLB Check Error"),
    "bus": ("1cf3f8b3-c5b1-49a2-aa59-5eef92ffa63c", "Bus Check Error"),
    "ms": ("48ab7f57-dc34-4f6c-a7d3-b0b5b0a74314", "MS Check Error"),
}

ZERO_GUID = "00000000-0000-0000-0000-000000000000"

SECTION_KEY_BY_GUID = {g: k for k, (g, _t) in SECTION_TYPES.items()}
NOTIFICATION_KEY_BY_GUID = {g: k for k, (g, _t) in NOTIFICATION_TYPES.items()}
_BY_NAME = {}
for _table in (SECTION_TYPES, NOTIFICATION_TYPES, IA32X64_CHECK_TYPES):
    for _k, (_g, _t) in _table.items():
        _BY_NAME.setdefault(_k, _g)


def guid_by_name(name: str) -> Optional[str]:
    """A model name ('platform_memory', 'sea', ...) to its GUID text, if it is one."""
    return _BY_NAME.get(name.strip().lower().replace("-", "_"))


def section_title(guid: str) -> Optional[str]:
    key = SECTION_KEY_BY_GUID.get(guid)
    if key:
        return SECTION_TYPES[key][1]
    return OTHER_SECTION_GUIDS.get(guid)
