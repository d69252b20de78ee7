"""``python -m pumpctl``: the same entry point as the ``pumpctl`` console script."""
import sys

from pumpctl.cli.main import main

sys.exit(main())
