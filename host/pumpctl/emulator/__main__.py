"""`python -m pumpctl.emulator`: the emulator on its own (same options as `pumpctl emulate`)."""
import sys

from pumpctl.emulator.server import main

sys.exit(main())
