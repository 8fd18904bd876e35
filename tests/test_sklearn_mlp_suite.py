"""scikit-learn's own MLP test module, run against the drop-ins.

``sklearn/neural_network/tests/test_mlp.py`` ships in scikit-learn's wheel.
It is run from the installed package (never copied here) in a separate
pytest process with this module loaded as a plugin (``-p``): the plugin's
``pytest_configure`` rebinds ``sklearn.neural_network.MLPClassifier`` and
``MLPRegressor`` to ``nnestimators.MLPClassifier`` and ``MLPRegressor``
before test_mlp.py is imported (it does ``from sklearn.neural_network
import MLPClassifier, MLPRegressor`` at module level): the import is all
that changes. Its ``pytest_collection_modifyitems`` deselects the tests
listed in ``DESELECTED``, each a test of MLP's private internals.

Run it by hand with::

    PYTHONPATH=tests python -m pytest -p test_sklearn_mlp_suite -p no:cacheprovider \
        "$(python -c 'import sklearn.neural_network.tests.test_mlp as m; print(m.__file__)')"
"""

import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# Keys are test names as pytest shows them: a function (all its cases) or
# one case, ``name[ids]``. Only tests of MLP's private internals belong here.
DESELECTED = {
    "test_gradient": "MLP's private internals: calls _loss_grad_lbfgs with "
    "MLP's preallocated activation and gradient buffers, which the drop-ins "
    "(torch's autograd) do not have",
}
# Fewest items that must pass (of the 59 that pass on scikit-learn's classes).
MIN_PASSED = 58


def _sklearn_test_file():
    spec = importlib.util.find_spec("sklearn.neural_network.tests.test_mlp")
    return None if spec is None else spec.origin


def _lookup(table, item):
    reason = table.get(item.name)
    if reason is None:
        reason = table.get(item.originalname)
    return reason


# -- the plugin (active only when loaded with -p) -------------------------------


def pytest_configure(config):
    import sklearn.neural_network
    import torch

    import nnestimators

    torch.set_num_threads(1)  # tiny networks; OpenMP threads only contend
    sklearn.neural_network.MLPClassifier = nnestimators.MLPClassifier
    sklearn.neural_network.MLPRegressor = nnestimators.MLPRegressor


def pytest_collection_modifyitems(config, items):
    seen = {item.name for item in items} | {item.originalname for item in items}
    stale = sorted(set(DESELECTED) - seen)
    if stale:
        raise pytest.UsageError(
            f"DESELECTED names tests that test_mlp.py lacks: {stale}"
        )
    kept, dropped = [], []
    for item in items:
        if _lookup(DESELECTED, item) is not None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


# -- the test in our suite --------------------------------------------------------


@pytest.mark.slow
def test_sklearn_mlp_test_module(tmp_path):
    path = _sklearn_test_file()
    if path is None or not os.path.exists(path):
        pytest.skip("this scikit-learn install ships no neural_network tests")
    report = tmp_path / "report.xml"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS), str(REPO), env.get("PYTHONPATH", "")]
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not this repo's settings
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "test_sklearn_mlp_suite",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            "-q",
            "-rfEX",
            f"--junitxml={report}",
            path,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    counts = _counts(report) if report.exists() else {}
    print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
    print(f"test_mlp.py: {counts}")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert counts["passed"] >= MIN_PASSED, counts


def _counts(report):
    counts = {"passed": 0, "failed": 0, "skipped": 0, "xfailed": 0, "xpassed": 0}
    for case in ET.parse(report).getroot().iter("testcase"):
        tags = {child.tag: child for child in case}
        if "failure" in tags or "error" in tags:
            counts["failed"] += 1
        elif "skipped" in tags:
            kind = tags["skipped"].get("type", "")
            counts["xfailed" if "xfail" in kind else "skipped"] += 1
        else:
            counts["passed"] += 1
    return counts
