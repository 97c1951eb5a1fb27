"""docs/rules.md and docs/checklist.md are generated from the data and must be current."""
import os
import subprocess
import sys

GEN = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "gen_docs.py")


def test_generated_docs_are_current():
    result = subprocess.run([sys.executable, GEN, "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_traceability_covers_every_checklist_item():
    with open(os.path.join(os.path.dirname(GEN), "..", "..", "docs", "checklist.md"), encoding="utf-8") as handle:
        text = handle.read()
    assert "**not covered**" not in text
