import os
import sys

# Make helper modules living next to the tests (e.g. ``naive_reference``)
# importable as top-level modules.
_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)
