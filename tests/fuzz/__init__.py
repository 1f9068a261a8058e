"""Random program generators for srcdiff, the oracles that judge them, a campaign runner
with shrinking, and the CI test's bookkeeping.

- ``scalar``: programs of floats and ``math`` with loops, branches, helpers, closures;
- ``arrays``: NumPy programs with broadcasting, reductions, indexing and item assignment;
- ``harness``: one program through srcdiff and its oracles, a verdict;
- ``shrink``: a failing program made small, with the same class of failure;
- ``campaign``: ``python -m tests.fuzz.campaign --programs 1000 --kind all``.
"""

import os
import sys

# the oracles shared with the other tests (tests/dual.py) are imported as top-level modules
_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
