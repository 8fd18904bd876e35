"""The report page in a real browser: headless Chromium at 1400 and 1000 px.

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
WIDTHS = (1400, 1000)


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_report_layout", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = _load_checker()
CHROMIUM = checker.find_chromium()

pytestmark = [
    pytest.mark.slow,  # a browser starts for every page
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium binary at /usr/bin/chromium or on PATH "
        "(Debian: apt-get install chromium)",
    ),
]


def _check(page, width):
    result = checker.check_layout(page, width=width, chromium=CHROMIUM)
    return result, checker.problems(result, width)


def _assert_fits(page, n_images):
    for width in WIDTHS:
        result, found = _check(page, width)
        assert not found, (width, found)
        assert result["images"] == n_images


def test_checker_finds_overflow_scrolling_boxes_and_broken_images(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><div style='width:2000px'>wide</div>"
        "<div style='overflow-x:auto'><table><tr>"
        + "<td>a_rather_long_column_name</td>"
        * 80
        + "</tr></table></div>"
        "<img alt='broken' src='data:image/png;base64,AAAA'></body></html>"
    )
    result, found = _check(page, 1400)
    assert result["inner_width"] == 1400
    assert result["n_overflowing"] >= 1
    assert result["n_scrolling"] >= 1
    assert result["broken_images"] == ["broken"]
    assert len(found) == 4


def test_classification_report_fits_the_page(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # The default data: six metrics and two baselines make wide tables.
    status = main(["report", "--max-epochs", "2", "--cv", "5", "--out", "cancer"])
    assert status == 0, capsys.readouterr().err
    # Training curves, ROC, precision-recall, confusion matrix, calibration.
    _assert_fits(tmp_path / "cancer" / "report.html", n_images=5)


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
    _assert_fits(out_dir / "report.html", n_images=2)


def test_search_report_fits_the_page(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n_rows = 90
    frame = pd.DataFrame(rng.normal(size=(n_rows, 4)), columns=list("abcd"))
    frame["species"] = np.array(["setosa", "versicolor", "virginica"])[
        np.arange(n_rows) % 3
    ]
    path = tmp_path / "flowers.csv"
    frame.to_csv(path, index=False)
    out_dir = tmp_path / "flowers"
    status = main(
        [
            "report",
            "--data",
            str(path),
            "--search",
            "grid",
            "--max-epochs",
            "1",
            "--cv",
            "2",
            "--out",
            str(out_dir),
        ]
    )
    assert status == 0, capsys.readouterr().err
    assert "Chosen parameters per fold" in (out_dir / "report.html").read_text()
    _assert_fits(out_dir / "report.html", n_images=3)
