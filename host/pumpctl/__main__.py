"""``python -m pumpctl``: the same entry point as the ``pumpctl`` console script."""
import sys

from .cli import main

sys.exit(main())
