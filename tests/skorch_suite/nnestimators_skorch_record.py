"""Pytest plugin: one outcome per collected item of skorch's suite, as JSON.

Loaded with ``-p nnestimators_skorch_record`` in both runs, stock and swapped.
It also makes ``skorch.tests`` the package extracted from skorch's source
distribution (the tests import ``skorch.tests.conftest``), whether or not the
installed wheel ships its tests.

Environment:
``NNESTIMATORS_SKORCH_TESTS``  the extracted ``skorch/tests`` folder.
``NNESTIMATORS_SKORCH_REPORT`` where to write ``{nodeid: {outcome, message}}``.
"""

import importlib.util
import json
import os
import sys

import skorch


def _alias_skorch_tests(folder):
    spec = importlib.util.spec_from_file_location(
        "skorch.tests",
        os.path.join(folder, "__init__.py"),
        submodule_search_locations=[folder],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["skorch.tests"] = module
    skorch.tests = module
    spec.loader.exec_module(module)


if os.environ.get("NNESTIMATORS_SKORCH_TESTS"):
    _alias_skorch_tests(os.environ["NNESTIMATORS_SKORCH_TESTS"])

# nodeid -> {"outcome": passed|failed|error|skipped, "message": str}
_RESULTS = {}
_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def _message(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.strip().splitlines()[0][:300] if crash.message else ""
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        return str(report.longrepr[2])[:300]
    text = str(report.longrepr or "").strip().splitlines()
    return text[-1][:300] if text else ""


def _record(nodeid, outcome, message, *, rerun=False):
    # A rerun's call (flaky retries) replaces the earlier call's outcome; an
    # error in setup or teardown outranks whatever the call did.
    old = _RESULTS.get(nodeid)
    if (
        old is None
        or (rerun and old["outcome"] != "error")
        or _RANK[outcome] > _RANK[old["outcome"]]
    ):
        _RESULTS[nodeid] = {"outcome": outcome, "message": message}


def pytest_runtest_logreport(report):
    if report.when == "call":
        if report.passed:
            _record(report.nodeid, "passed", "", rerun=True)
        elif report.skipped:  # skips and xfails
            _record(report.nodeid, "skipped", _message(report), rerun=True)
        else:
            _record(report.nodeid, "failed", _message(report), rerun=True)
    elif report.failed:  # setup or teardown
        _record(report.nodeid, "error", f"[{report.when}] {_message(report)}")
    elif report.skipped and report.when == "setup":
        _record(report.nodeid, "skipped", _message(report))


def pytest_collectreport(report):
    if report.failed:
        _record(report.nodeid, "error", f"[collect] {_message(report)}")


def pytest_sessionfinish(session):
    path = os.environ.get("NNESTIMATORS_SKORCH_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(_RESULTS, fh, indent=0, sort_keys=True)
