"""The skorch-suite runner (tests/skorch_suite/run.py): its bookkeeping here, and
the whole run where NNESTIMATORS_SKORCH_SUITE=1 asks for it (CI runs it as a
step of its own: it downloads skorch's source distribution and takes minutes).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "skorch_suite" / "run.py"


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("_skorch_suite_run", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(runner, tmp_path, *extra):
    return runner.parse_args(["--cache-dir", str(tmp_path), *extra])


SPLIT = "chosen: no default split | setting: train_split=ValidSplit(5)"
NAME = "forced: the class name rule -- messages name NNClassifier"


def test_expected_list_round_trips_with_reasons(runner, tmp_path):
    path = tmp_path / "expected.txt"
    old = {"a.py::t1": SPLIT, "a.py::t3": NAME, "a.py::gone": "whatever"}
    runner.write_expected(
        path,
        {"a.py::t1", "a.py::t2", "a.py::t3"},
        old,
        "1.4.0",
        {"a.py::t2": "failed: boom"},
    )
    text = path.read_text()
    # Forced groups first, then chosen ones, then what is left to explain.
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == [f"## {NAME}", f"## {SPLIT}", "## TODO"]
    assert f"## {SPLIT}\na.py::t1\n" in text
    assert "## TODO\na.py::t2  # failed: boom\n" in text
    assert runner.read_expected(path) == {
        "a.py::t1": SPLIT,
        "a.py::t2": "TODO",
        "a.py::t3": NAME,
    }


@pytest.mark.parametrize(
    "reason, parsed",
    [
        (SPLIT, ("chosen", "no default split", "train_split=ValidSplit(5)")),
        (NAME, ("forced", "the class name rule -- messages name NNClassifier", "")),
        ("TODO", ("todo", "", "")),
        ("TODO (bug, being fixed): x", ("todo", "(bug, being fixed): x", "")),
        ("no mark here", (None, "no mark here", "")),
        ("chosenly: no", (None, "chosenly: no", "")),
    ],
)
def test_reasons_carry_a_machine_readable_mark(runner, reason, parsed):
    assert runner.parse_reason(reason) == parsed


def test_committed_files_parse(runner):
    expected = runner.read_expected(runner.EXPECTED)
    assert expected and all(reason for reason in expected.values())
    for reason in set(expected.values()):
        mark, text, setting = runner.parse_reason(reason)
        assert mark in runner.MARKS, f"no forced/chosen/TODO mark: {reason}"
        assert text, reason
        if mark == "chosen":
            # What a skorch user sets to get skorch's behaviour back ('none'
            # where nothing does, with why).
            assert setting, f"a chosen group names no setting: {reason}"
    for path in runner.HERE.glob("stock-passing-skorch-*.txt"):
        header, passing = runner.read_committed_baseline(path)
        assert header["skorch"] in path.name
        assert passing and all("::" in nodeid for nodeid in passing)


def test_compare_fails_only_on_new_failures(runner, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "EXPECTED", tmp_path / "expected.txt")
    (tmp_path / "expected.txt").write_text(
        f"## {SPLIT}\nt.py::expected\nt.py::fixed\n## TODO (a bug)\nt.py::bug\n"
    )
    passing = {"t.py::ok", "t.py::expected", "t.py::fixed", "t.py::skips", "t.py::bug"}
    ours = {
        "t.py::ok": {"outcome": "passed", "message": ""},
        "t.py::expected": {"outcome": "failed", "message": "x"},
        "t.py::fixed": {"outcome": "passed", "message": ""},
        "t.py::skips": {"outcome": "skipped", "message": "no tensorboard"},
        "t.py::bug": {"outcome": "failed", "message": "boom"},
    }
    args = _args(runner, tmp_path)
    assert runner.compare(args, "1.4.0", passing, ours) == 0
    out = capsys.readouterr().out
    assert "2 of 4 stock-passing items pass with nnestimators" in out
    assert "expected failures by mark: forced 0, chosen 1, todo 1" in out
    assert "1 TODO items still fail" in out
    assert "now pass" in out and "t.py::fixed" in out
    # --strict: a TODO item that still fails fails the check.
    assert (
        runner.compare(_args(runner, tmp_path, "--strict"), "1.4.0", passing, ours) == 1
    )
    capsys.readouterr()

    passing.add("t.py::new")  # never collected with ours: a module broke
    assert runner.compare(args, "1.4.0", passing, ours) == 1
    out = capsys.readouterr().out
    assert "1 NEW failures" in out and "missing: not collected" in out


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("NNESTIMATORS_SKORCH_SUITE") != "1",
    reason="set NNESTIMATORS_SKORCH_SUITE=1 (downloads skorch's sdist; minutes)",
)
def test_skorch_suite_has_no_new_failures():
    proc = subprocess.run([sys.executable, str(RUNNER)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
