"""The report page in a real browser: headless Chromium at 1280 px.

Skipped when no Chromium binary is found (/usr/bin/chromium or on PATH);
on Debian, ``apt-get install chromium`` provides it. The check itself lives
in ``scripts/check_report_layout.py``, which also runs on its own.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnestimators.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "check_report_layout.py"
WIDTH = 1280


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_report_layout", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = _load_checker()
CHROMIUM = checker.find_chromium()

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary at /usr/bin/chromium or on PATH "
    "(Debian: apt-get install chromium)",
)


def _check(page):
    result = checker.check_layout(page, width=WIDTH, chromium=CHROMIUM)
    return result, checker.problems(result, WIDTH)


def test_checker_finds_overflow_and_broken_images(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><div style='width:2000px'>wide</div>"
        "<img alt='broken' src='data:image/png;base64,AAAA'></body></html>"
    )
    result, found = _check(page)
    assert result["inner_width"] == WIDTH
    assert result["n_overflowing"] >= 1
    assert result["broken_images"] == ["broken"]
    assert len(found) == 3


def test_classification_report_fits_the_page(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # The default data: six metrics make a wide per-fold table.
    status = main(["report", "--max-epochs", "2", "--cv", "5", "--out", "cancer"])
    assert status == 0, capsys.readouterr().err
    result, found = _check(tmp_path / "cancer" / "report.html")
    assert not found, found
    assert result["images"] == 4


def test_regression_report_with_long_names_fits_the_page(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n_rows = 120
    names = [f"a_rather_long_measurement_column_name_{i:02d}" for i in range(24)]
    frame = pd.DataFrame(rng.normal(size=(n_rows, len(names))), columns=names)
    frame["customer_reference"] = [f"ref-{i:08d}" for i in range(n_rows)]
    frame["neighbourhood"] = rng.choice(["north", "south", "east"], n_rows)
    frame["price"] = 250_000 + 40_000 * frame[names[0]] + rng.normal(0, 5_000, n_rows)
    path = tmp_path / "houses.csv"
    frame.to_csv(path, index=False)
    out_dir = tmp_path / "houses"
    status = main(
        [
            "report",
            "--data",
            str(path),
            "--max-epochs",
            "2",
            "--cv",
            "3",
            "--out",
            str(out_dir),
        ]
    )
    assert status == 0, capsys.readouterr().err
    result, found = _check(out_dir / "report.html")
    assert not found, found
    assert result["images"] == 2
