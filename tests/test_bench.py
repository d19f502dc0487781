"""The import benchmark runs end to end on a small batch, so it never rots.

Its figures are not asserted (no timing assertions in tests); the script itself
checks the created/updated/unchanged counts of every phase and fails otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def test_benchmark_runs_every_phase_and_prints_the_table():
    done = subprocess.run(
        [sys.executable, str(BASE_DIR / "bench" / "run.py"), "-n", "20", "--jobs", "2"],
        env=dict(os.environ),
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("N = 20 on ")
    assert "x parse" in lines[1] and "queries/story" in lines[1]
    for phase in ("parse only", "full import", "re-import, unchanged", "re-import, 10% changed"):
        assert any(line.startswith(phase) for line in lines), phase
