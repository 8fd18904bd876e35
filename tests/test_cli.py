"""Tests of the ``nnestimators`` command (nnestimators.cli)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnestimators import cli
from nnestimators.cli import main

REPORT_FILES = {"report.html", "folds.csv", "summary.csv", "metrics.json"}
REPO_ROOT = Path(__file__).resolve().parents[1]


def _table(n_rows=60, seed=0):
    """A small mixed table: numbers, a category, a boolean and text labels."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n_rows).round(1),
            "city": rng.choice(["paris", "rome", "oslo"], n_rows),
            "member": rng.choice([True, False], n_rows),
        }
    )
    frame["label"] = np.where(frame["age"] > 40, "yes", "no")
    frame["price"] = 3 * frame["age"] + rng.normal(0, 2, n_rows)
    frame["kind"] = np.array(["a", "b", "c"])[np.arange(n_rows) % 3]
    # One missing feature of each type and one missing target.
    frame.loc[3, "age"] = np.nan
    frame.loc[4, "city"] = np.nan
    frame.loc[5, "label"] = np.nan
    return frame


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "table.csv"
    _table().drop(columns=["price", "kind"]).to_csv(path, index=False)
    return path


def _run(capsys, *args):
    status = main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def _assert_report_dir(directory):
    written = {path.name for path in Path(directory).iterdir()}
    assert REPORT_FILES <= written
    assert any(name.endswith(".png") for name in written)
    return json.loads((Path(directory) / "metrics.json").read_text())


def test_default_data_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = _run(capsys, "--max-epochs", 3, "--cv", 3)
    assert status == 0, err
    assert "breast cancer" in out
    assert "binary task" in out and "±" in out
    for metric in ("accuracy", "roc_auc", "average_precision"):
        assert metric in out
    # The summary is printed and the default output directory is used.
    out_dir = tmp_path / cli.DEFAULT_OUT
    assert str(Path(cli.DEFAULT_OUT) / "report.html") in out
    document = _assert_report_dir(out_dir)
    assert document["task"] == "binary"
    assert document["positive_label"] == "malignant"
    assert len(pd.read_csv(out_dir / "folds.csv")) == 3


def test_csv_with_categories_missing_values_and_text_target(csv_path, tmp_path, capsys):
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys, "--data", csv_path, "--max-epochs", 3, "--cv", 3, "--out", out_dir
    )
    assert status == 0, err
    assert "dropped 1 rows with a missing target" in out
    assert "target 'label'" in out and "binary" in out
    document = _assert_report_dir(out_dir)
    assert document["positive_label"] == "yes"
    summary = pd.read_csv(out_dir / "summary.csv", index_col="metric")
    assert summary["test_mean"].between(0, 1).all()


def test_parquet_regression_quiet(tmp_path, capsys):
    path = tmp_path / "table.parquet"
    _table().drop(columns=["label", "kind"]).to_parquet(path)
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys,
        "--data",
        path,
        "--model",
        "linear",
        "--max-epochs",
        3,
        "--cv",
        2,
        "--out",
        out_dir,
        "--quiet",
    )
    assert status == 0, err
    assert out.strip() == str(out_dir)
    document = _assert_report_dir(out_dir)
    assert document["task"] == "regression"
    assert document["metrics"] == ["rmse", "mae", "r2"]
    assert (out_dir / "prediction_error.png").is_file()


def test_grid_search_nested_multiclass(tmp_path, capsys):
    path = tmp_path / "table.csv"
    _table().drop(columns=["label", "price"]).to_csv(path, index=False)
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys,
        "--data",
        path,
        "--search",
        "grid",
        "--max-epochs",
        1,
        "--cv",
        2,
        "--out",
        out_dir,
    )
    assert status == 0, err
    assert "multiclass task, GridSearchCV of NNClassifier" in out
    assert "Best parameters per fold:" in out
    assert out.count("lr=") == 2 and "module__hidden_units=" in out
    _assert_report_dir(out_dir)


# Another cluster on the machine may hold Dask's default HTTP port.
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_dask_scheduler_address(csv_path, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    # Worker processes, as a remote scheduler has; the command only sees the
    # address. (A threaded in-process cluster made joblib's Dask backend lose
    # futures now and then: "already forgotten".)
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        out_dir = tmp_path / "out"
        status, out, err = _run(
            capsys,
            "--data",
            csv_path,
            "--scheduler",
            cluster.scheduler_address,
            "--max-epochs",
            1,
            "--cv",
            2,
            "--out",
            out_dir,
        )
    assert status == 0, err
    assert "Dask: 1 workers" in out
    _assert_report_dir(out_dir)


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_dask_local_cluster_options(csv_path, tmp_path, capsys, monkeypatch):
    distributed = pytest.importorskip("distributed")
    requested = {}
    real_cluster = distributed.LocalCluster

    def recording_cluster(**options):
        requested.update(options)
        # Threads instead of processes: the options are what is under test.
        return real_cluster(n_workers=1, processes=False, dashboard_address=None)

    monkeypatch.setattr(distributed, "LocalCluster", recording_cluster)
    status, out, err = _run(
        capsys,
        "--data",
        csv_path,
        "--dask",
        "local",
        "--max-epochs",
        1,
        "--cv",
        2,
        "--out",
        tmp_path / "out",
    )
    assert status == 0, err
    assert requested["processes"] is True
    assert requested["host"] == "127.0.0.1"
    assert requested["dashboard_address"] is None


@pytest.mark.parametrize(
    "values, task",
    [
        (["a", "b", "a"], "binary"),
        ([True, False, True], "binary"),
        ([0.0, 1.0, 2.0, 1.0], "multiclass"),  # integers read as floats
        ([0.5, 1.25, 2.0], "regression"),
        (list(range(30)), "regression"),  # too many levels for classes
    ],
)
def test_task_inferred_from_target(values, task):
    assert cli.decide_task(pd.Series(values), "auto") == task


def test_target_values_are_labels_scikit_learn_can_sort():
    labels = cli._target_values(pd.Series([1.0, 0.0, 1.0]), "binary")
    assert labels.dtype == np.int64
    mixed = cli._target_values(pd.Series([1, "a", 1], dtype=object), "binary")
    assert list(mixed) == ["1", "a", "1"]
    assert cli._target_values(pd.Series([True, False]), "binary").dtype == bool


def test_help_on_every_command(capsys):
    assert main(["--help"]) == 0
    assert "report" in capsys.readouterr().out
    assert main(["report", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--data", "--target", "--search", "--scheduler", "--dask"):
        assert option in text
    assert "nested inside the cross-validation" in text
    assert "wide     two hidden layers of 256 and 128 units" in text


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


# Each case: a function building the arguments from tmp_path, and the text
# the one-line error must contain.
BAD_INPUTS = {
    "missing file": (lambda d: ["--data", d / "absent.csv"], "not found"),
    "directory": (lambda d: ["--data", d], "must be a file"),
    "unsupported extension": (
        lambda d: ["--data", _write(d, "table.xlsx", "a,b\n1,2\n")],
        "unsupported file type '.xlsx'",
    ),
    "empty file": (lambda d: ["--data", _write(d, "empty.csv", "")], "is empty"),
    "header only": (
        lambda d: ["--data", _write(d, "header.csv", "a,b\n")],
        "0 rows",
    ),
    "unparseable csv": (
        lambda d: ["--data", _write(d, "broken.csv", 'a,b\n"1,2\n3,4\n')],
        "could not read",
    ),
    "unparseable parquet": (
        lambda d: ["--data", _write(d, "broken.parquet", b"not parquet")],
        "could not read",
    ),
    "unknown target": (
        lambda d: ["--data", _write(d, "t.csv", "a,b\n1,2\n"), "--target", "c"],
        "unknown target column 'c'; available columns: a, b",
    ),
    "target without values": (
        lambda d: ["--data", _write(d, "t.csv", "a,b\n1,\n2,\n")],
        "has no values",
    ),
    "single class": (
        lambda d: ["--data", _write(d, "t.csv", "a,b\n1,x\n2,x\n3,x\n")],
        "single class",
    ),
    "cv above smallest class": (
        lambda d: ["--cv", 300],
        "--cv 300 is larger than the smallest class ('malignant' has 212 rows)",
    ),
    "regression on text": (
        lambda d: [
            "--data",
            _write(d, "t.csv", "a,b\n1,x\n2,y\n"),
            "--task",
            "regression",
        ],
        "needs a numeric target",
    ),
    "binary with 3 classes": (
        lambda d: [
            "--data",
            _write(d, "t.csv", "a,b\n1,x\n2,y\n3,z\n"),
            "--task",
            "binary",
        ],
        "needs 2 classes",
    ),
    "unknown option": (
        lambda d: ["--colour", "red"],
        "unrecognized arguments: --colour",
    ),
    "unknown model": (lambda d: ["--model", "huge"], "invalid choice: 'huge'"),
    "cv zero": (lambda d: ["--cv", 0], "argument --cv: must be an integer >= 2"),
    "cv text": (lambda d: ["--cv", "many"], "argument --cv"),
    "max epochs zero": (lambda d: ["--max-epochs", 0], "argument --max-epochs"),
    "max epochs negative": (lambda d: ["--max-epochs", -3], "argument --max-epochs"),
    "negative seed": (lambda d: ["--seed", -1], "argument --seed"),
    "two schedulers": (
        lambda d: ["--scheduler", "tcp://127.0.0.1:1", "--dask", "local"],
        "not allowed with",
    ),
    "out is a file": (
        lambda d: ["--cv", 2, "--out", _write(d, "taken", "x")],
        "--out",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_error(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    build_args, expected = BAD_INPUTS[case]
    status, out, err = _run(capsys, *build_args(tmp_path))
    assert status == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnestimators: error: ")
    assert expected in lines[0]


def test_missing_command_is_one_line_error(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "required: COMMAND" in err


def test_dask_not_installed(monkeypatch, tmp_path, capsys, csv_path):
    # None in sys.modules makes "import distributed" raise ImportError.
    monkeypatch.setitem(sys.modules, "distributed", None)
    status, _, err = _run(
        capsys, "--data", csv_path, "--dask", "local", "--out", tmp_path / "o"
    )
    assert status == 2
    assert err.strip() == (
        "nnestimators: error: Dask is not installed; install it with: "
        'pip install "nnestimators[dask]"'
    )


def test_training_failure_is_one_line_error(monkeypatch, csv_path, tmp_path, capsys):
    import nnestimators.reports
    from nnestimators import TrainingDivergedError

    def diverge(*args, **kwargs):
        raise TrainingDivergedError("Training diverged at epoch 1.\nTry a lower lr.")

    monkeypatch.setattr(nnestimators.reports, "cross_validated_report", diverge)
    status, _, err = _run(capsys, "--data", csv_path, "--out", tmp_path / "o")
    assert status == 1
    assert err == (
        "nnestimators: error: training failed: Training diverged at epoch 1.\n"
    )


def test_python_dash_m_entry_point(csv_path, tmp_path):
    out_dir = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "nnestimators",
        "report",
        "--data",
        str(csv_path),
        "--max-epochs",
        "1",
        "--cv",
        "2",
        "--out",
        str(out_dir),
        "--quiet",
    ]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out_dir)
    _assert_report_dir(out_dir)
