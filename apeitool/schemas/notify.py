"""Hardware Error Notification Structure: ACPI 6.5 §18.3.2.9 (28 bytes)."""
from construct import Default, Struct

from .common import BitFlags, NamedEnum, U8, U16, U32

NOTIFY_SIZE = 28

# Configuration Write Enable: which parameters OSPM may change (bits 6-15 reserved).
CONFIG_WRITE_ENABLE_BITS = [
    ("type", 0, None),
    ("poll_interval", 1, None),
    ("switch_to_polling_threshold_value", 2, None),
    ("switch_to_polling_threshold_window", 3, None),
    ("error_threshold_value", 4, None),
    ("error_threshold_window", 5, None),
]

Notify = Struct(
    "type" / NamedEnum(U8, "notify_type") * "Notify Type",
    "length" / Default(U8, NOTIFY_SIZE) * "Notify Length",
    "config_write_enable" / Default(BitFlags(U16, CONFIG_WRITE_ENABLE_BITS), 0)
    * "Configuration Write Enable",
    "poll_interval" / Default(U32, 0) * "PollInterval",
    "vector" / Default(U32, 0) * "Vector",
    "polling_threshold_value" / Default(U32, 0) * "Polling Threshold Value",
    "polling_threshold_window" / Default(U32, 0) * "Polling Threshold Window",
    "error_threshold_value" / Default(U32, 0) * "Error Threshold Value",
    "error_threshold_window" / Default(U32, 0) * "Error Threshold Window",
)
assert Notify.sizeof() == NOTIFY_SIZE
