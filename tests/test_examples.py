"""Every script in examples/ runs to the end in quick mode.

The scripts are found by globbing, so a new example is tested without
touching this file. ``NNESTIMATORS_QUICK=1`` asks each one for tiny data and
few epochs; the point is that the documented workflows still run, not that
they reach their full-length scores.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))
TIMEOUT_S = 120


def _quick_env():
    env = dict(os.environ)
    env.update(
        NNESTIMATORS_QUICK="1",
        # One thread: tiny networks gain nothing from more on shared cores.
        OMP_NUM_THREADS="1",
        MPLBACKEND="Agg",
    )
    return env


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs_in_quick_mode(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "out")],
        cwd=tmp_path,  # anything written by mistake lands in a throw-away folder
        env=_quick_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )

    details = f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 0, details
    assert "Traceback" not in result.stderr, details
