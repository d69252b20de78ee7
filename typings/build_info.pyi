"""Type stub for build/build_info.py, which `make firmware` (tools/mpy/build_firmware.py) writes."""

BUILD_KIND: str  # "test" | "clinical"
FW_VERSION: str
BUILD_HASH: str
