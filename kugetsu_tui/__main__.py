"""`python -m kugetsu_tui` runs the same entry point as the `kugetsu-tui` script."""

import sys

from kugetsu_tui.cli.main import main

sys.exit(main())
