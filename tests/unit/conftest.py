"""Make ``ansible_collections.sms.upgrade`` importable for pytest runs from the repository."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import collection_tree  # noqa: E402  pylint: disable=wrong-import-position

_ROOT = collection_tree.ensure_tree()
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
