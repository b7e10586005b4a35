"""`kugetsu-tui` with the slot ledger on (`with`) or its writes made no-ops (`without`), for benchmarks.ledger.

python -m benchmarks.ledger_cli with|without ARGS...
"""

import sys

from kugetsu_tui.sessions import ledger

if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "without":
        ledger.record = lambda *a, **k: None
        ledger.record_counted = lambda *a, **k: None
    from kugetsu_tui.cli.main import main

    sys.exit(main(args))
