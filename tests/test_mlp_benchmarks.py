"""``python -m benchmarks mlp --quick`` runs end to end; timings are not asserted."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_mlp_benchmark_writes_its_tables(tmp_path):
    out = tmp_path / "mlp.md"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "mlp", "--quick", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    page = out.read_text()
    for heading in ("## Gallery fits", "## Crossover", "## First fit"):
        assert heading in page
    # The scores of the quick cases are scikit-learn's (same seeds, same rules).
    cases = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in page.splitlines()
        if line.startswith("| classifier comparison |")
    ]
    cases = [cells for cells in cases if len(cells) == 7]  # not the totals
    assert len(cases) == 3
    for cells in cases:
        assert abs(float(cells[2]) - float(cells[3])) < 0.05
