"""Top-level test configuration: kept minimal on purpose.

It only makes `from tests.helpers import ...` work however pytest is invoked (the repository
root goes on sys.path). Fixtures live in each test directory's own conftest.py.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
