"""Smoke test of the benchmark suite: it runs end to end and writes its report.

Timings are never asserted: on shared machines they are noise.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]

TABLE_HEADINGS = [
    "## Machine",
    "## Method",
    "## Fit time",
    "## Fit-time ratios",
    "## Predict time",
    "## Peak memory during fit",
    "## GridSearchCV",
    "## Threads: the default n_threads on a quiet and on a busy machine",
    "## Targets",
]

TARGET_LINE = re.compile(r"^- \*\*(PASS|MISS|N/A)\*\* .+: .+$", re.MULTILINE)

# Each test runs the benchmarks command in a new interpreter: slow tier.
pytestmark = pytest.mark.slow


def run_quick_suite(out: Path) -> subprocess.CompletedProcess:
    """The documented command, in --quick mode, on a few hundred rows."""
    command = [
        sys.executable,
        "-m",
        "benchmarks",
        "--quick",
        "--n-rows",
        "300",
        "--grid-rows",
        "300",
        "--out",
        str(out),
    ]
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240
    )


def test_quick_suite_writes_tables_and_targets(tmp_path):
    out = tmp_path / "benchmarks.md"
    completed = run_quick_suite(out)
    assert completed.returncode == 0, completed.stderr[-3000:]

    page = out.read_text(encoding="utf-8")
    for heading in TABLE_HEADINGS:
        assert heading in page
    assert "| rows | batch | nnestimators | hand_loop | skorch | sklearn_mlp |" in page
    assert "Quick mode" in page

    targets = page.split("## Targets", 1)[1]
    # 3 batch sizes x 1 row count vs the hand loop, skorch, 2 x MLPClassifier,
    # grid search, 2 networks x (quiet, busy) default threads vs best fixed.
    assert len(TARGET_LINE.findall(targets)) == 11
    for network in ("mlp", "convnet"):
        for machine in ("quiet", "busy"):
            assert f"| {network} | {machine} |" in page

    # The console gets the same tables.
    assert "Fit-time ratios" in completed.stdout
    assert "Targets" in completed.stdout
    assert "Threads (fit s, quiet and busy)" in completed.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_gpu_check_skips_cleanly_without_cuda():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "gpu"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "CUDA is not available" in completed.stdout
    assert "skipped" in completed.stdout
