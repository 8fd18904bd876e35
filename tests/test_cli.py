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
from nnestimators.cli.limits import format_bytes
from nnestimators.reports.bounded_ridge import MAX_SEARCH_ROWS

REPORT_FILES = {
    "report.html",
    "folds.csv",
    "summary.csv",
    "predictions.csv",
    "metrics.json",
}
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


@pytest.mark.slow
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


@pytest.mark.slow
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
    # Row ids are positions in the file: row 5, without a target, is absent.
    predictions = pd.read_csv(out_dir / "predictions.csv")
    assert list(predictions["row"]) == [i for i in range(60) if i != 5]


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
    # NNRegressor standardises its target itself: no second target scaler.
    assert "TransformedTargetRegressor" not in document["estimator_repr"]
    assert document["baselines"]["dummy"]["model"] == "DummyRegressor()"
    assert document["baselines"]["linear"]["model"].startswith("RidgeCV(")
    predictions = pd.read_csv(out_dir / "predictions.csv")
    assert list(predictions.columns) == ["row", "fold", "y_true", "y_pred"]
    assert len(predictions) == 60


@pytest.mark.slow
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
    document = _assert_report_dir(out_dir)
    # The page shows what each fold's search chose, and a Model line that
    # does not claim the preset's hidden units.
    chosen = document["chosen_parameters"]
    assert [entry["fold"] for entry in chosen] == [1, 2]
    assert set(chosen[0]["parameters"]) == {"lr", "module__hidden_units"}
    model_line = document["context"]["Model"]
    assert "(64,)" not in model_line.split(";")[0]
    assert "hidden units and lr chosen in each fold by a nested grid search" in (
        model_line
    )
    html = (out_dir / "report.html").read_text()
    assert "Chosen parameters per fold" in html
    hidden = tuple(chosen[1]["parameters"]["module__hidden_units"])
    assert f"<td>{hidden}</td>" in html
    _assert_no_memory_address(html)


# Another cluster on the machine may hold Dask's default HTTP port.
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
@pytest.mark.slow
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
@pytest.mark.slow
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
    assert "--no-baselines" in text and "predictions.csv" in text
    # --overwrite says what it removes, and that everything else stays.
    words = " ".join(text.split())
    # The ridge baseline's row limit, as the reports apply it.
    assert f"on {MAX_SEARCH_ROWS} random rows" in words
    # The reading limits and the encoding fallback, as the command applies them.
    assert f"larger than {format_bytes(cli.limits.MAX_DATA_BYTES)}," in words
    assert f"more than {cli.limits.MAX_CELLS:,} values (rows x columns;" in words
    assert f"or more than {cli.limits.MAX_COLUMNS:,} columns," in words
    assert f"longer than {format_bytes(cli.limits.MAX_HEADER_BYTES)};" in words
    assert f"count against the {format_bytes(cli.limits.MAX_DATA_BYTES)}." in words
    assert f"at most {cli.data.MAX_ENCODED_COLUMNS:,} columns and" in words
    assert f"and {cli.data.MAX_CELLS:,} values." in words
    assert f"Windows-1252 ({cli.text_encoding.FALLBACK_ENCODING}," in words
    assert "--encoding NAME (e.g. cp1251, shift_jis)" in words
    assert "Binary files are refused" in words
    # The preprocessing's numbers.
    assert f"at most {cli.MAX_CATEGORIES} columns each" in words
    assert f"more than {cli.MAX_DISTINCT_TEXT} distinct values" in words
    assert f"and more than {cli.MAX_CLASS_LEVELS} of them" in words
    assert "columns without any value; a saved row index" in words
    held_out = f"{cli.models.VALIDATION_FRACTION:.0%} of each training fold held out"
    assert f"{held_out} for early stopping (patience {cli.models.PATIENCE})" in words
    assert "remove only the files it wrote that are unchanged" in words
    assert "every other file stays and is listed" in words


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
    "seed beyond 32 bits": (lambda d: ["--seed", 2**32], "from 0 to 4294967295"),
    "threads zero": (lambda d: ["--threads", 0], "argument --threads"),
    "two schedulers": (
        lambda d: ["--scheduler", "tcp://127.0.0.1:1", "--dask", "local"],
        "not allowed with",
    ),
    "csv without a header line": (
        lambda d: ["--data", _write(d, "t.csv", "5.1,0\n4.9,0\n6.2,1\n5.9,1\n")],
        "holds numbers (5.1, 0), not column names",
    ),
    "infinite feature": (
        lambda d: ["--data", _write(d, "t.csv", "a b,c\n1,x\ninf,y\n3,x\n4,y\n")],
        "column(s) 'a b' hold infinite values",
    ),
    "feature beyond float32": (
        lambda d: ["--data", _write(d, "t.csv", "a,c\n1,x\n1e300,y\n3,x\n4,y\n")],
        "values beyond 3.4e+38",
    ),
    "regression target beyond float32": (
        lambda d: ["--data", _write(d, "t.csv", "a,b\n1,0.5\n2,-1e39\n3,2.5\n")],
        "'b' (the target)",
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
    from nnestimators import TrainingDivergedError
    from nnestimators.cli import report_command

    def diverge(*args, **kwargs):
        raise TrainingDivergedError("Training diverged at epoch 1.\nTry a lower lr.")

    monkeypatch.setattr(report_command, "cross_validated_report", diverge)
    status, _, err = _run(capsys, "--data", csv_path, "--out", tmp_path / "o")
    assert status == 1
    assert err == (
        "nnestimators: error: training failed: Training diverged at epoch 1.\n"
    )


@pytest.mark.slow
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


def _assert_no_memory_address(html):
    """No ``0x7f...`` outside the embedded images (base64 may hold "0x")."""
    import re

    text = re.sub(r"data:image/png;base64,[^']*", "", html)
    assert re.search(r"0x[0-9a-fA-F]{4,}", text) is None


@pytest.mark.slow
def test_report_answers_does_the_network_help(tmp_path, capsys):
    table = _table().drop(columns=["price", "kind"]).dropna(subset=["label"])
    path = tmp_path / "people.csv"
    table.to_csv(path, index=False)
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys, "--data", path, "--max-epochs", 2, "--cv", 3, "--out", out_dir
    )
    assert status == 0, err
    assert "Baselines on the same folds (test scores):" in out
    document = _assert_report_dir(out_dir)
    assert set(document["baselines"]) == {"dummy", "linear"}
    assert document["baselines"]["linear"]["model"] == (
        "LogisticRegression(max_iter=1000)"
    )
    assert document["comparison"].startswith("On roc_auc, ")
    assert document["comparison"] in out
    summary = pd.read_csv(out_dir / "summary.csv", index_col="metric")
    for column in ("test_mean", "linear_test_mean", "dummy_test_mean"):
        assert summary[column].between(0, 1).all()
    # One prediction per input row, its position in the table as row id.
    predictions = pd.read_csv(out_dir / "predictions.csv")
    assert len(predictions) == len(table)
    assert list(predictions["row"]) == list(range(len(table)))
    assert set(predictions["fold"]) == {1, 2, 3}
    np.testing.assert_allclose(predictions[["proba_no", "proba_yes"]].sum(axis=1), 1.0)
    labels = table["label"].to_numpy()
    assert (predictions["y_true"].to_numpy() == labels[predictions["row"]]).all()
    # What made it: the command line and the library versions.
    assert document["command"] == (
        f"nnestimators report --data {path} --max-epochs 2 --cv 3 --out {out_dir}"
    )
    assert {"nnestimators", "torch", "skorch", "scikit-learn"} <= set(
        document["versions"]
    )
    html = (out_dir / "report.html").read_text()
    for text in (
        "linear baseline, test",
        "dummy baseline, test",
        "DummyClassifier",
        "LogisticRegression",
        "Calibration (reliability diagram)",
        "Made with",
        f"torch {document['versions']['torch']}",
    ):
        assert text in html, text
    assert (out_dir / "calibration.png").is_file()
    _assert_no_memory_address(html)


@pytest.mark.slow
def test_no_baselines_option(csv_path, tmp_path, capsys):
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys,
        "--data",
        csv_path,
        "--no-baselines",
        "--max-epochs",
        1,
        "--cv",
        2,
        "--out",
        out_dir,
    )
    assert status == 0, err
    assert "Baselines" not in out
    document = _assert_report_dir(out_dir)
    assert document["baselines"] == {} and document["comparison"] is None
    assert "baseline, test" not in (out_dir / "report.html").read_text()


def test_random_search_prints_its_distributions():
    from sklearn.model_selection import ParameterSampler

    from nnestimators.reports.page import estimator_text

    X = _table().drop(columns=["label", "price", "kind"])
    args = cli.build_parser().parse_args(["report", "--search", "random"])
    search = cli.build_model("binary", X, args)
    text = estimator_text(search)
    assert "loguniform(0.0001, 0.03)" in text
    assert "0x" not in text
    draws = list(
        ParameterSampler(search.param_distributions, n_iter=50, random_state=0)
    )
    rates = np.array([draw["model__lr"] for draw in draws])
    assert ((rates >= 1e-4) & (rates <= 3e-2)).all()
    assert rates.min() < 1e-3 < rates.max()  # spread over the decades


# -- the --out folder ---------------------------------------------------------


def _forbid_training(monkeypatch):
    """Make any training fail loudly: the checks must come before it."""
    from nnestimators.cli import report_command

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(report_command, "cross_validated_report", no_training)


def test_report_never_overwrites_its_input_table(tmp_path, capsys, monkeypatch):
    _forbid_training(monkeypatch)
    folder = tmp_path / "inout"
    folder.mkdir()
    data = folder / "folds.csv"
    _table().drop(columns=["price", "kind"]).to_csv(data, index=False)
    before = data.read_bytes()
    status, _, err = _run(capsys, "--data", data, "--out", folder)
    assert status == 2
    assert err.count("\n") == 1 and "--out" in err
    # Even an earlier report folder with --overwrite keeps the input.
    (folder / cli.MARKER).write_text('{"files": ["folds.csv"]}')
    status, _, err = _run(capsys, "--data", data, "--out", folder, "--overwrite")
    assert status == 2
    assert "would overwrite the --data file folds.csv" in err
    assert data.read_bytes() == before


def test_report_keeps_the_users_files(tmp_path, capsys, monkeypatch):
    _forbid_training(monkeypatch)
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in ("report.html", "summary.csv", "metrics.json"):
        (folder / name).write_text(f"my own {name}")
    for extra in ([], ["--overwrite"]):
        status, _, err = _run(capsys, "--cv", 2, "--out", folder, *extra)
        assert status == 2
        assert "is not empty and holds no earlier report" in err
    for name in ("report.html", "summary.csv", "metrics.json"):
        assert (folder / name).read_text() == f"my own {name}"


@pytest.mark.parametrize("kind", ["link", "folder", "unlisted file"])
def test_overwrite_never_writes_through_what_the_report_did_not_write(
    kind, tmp_path, capsys, monkeypatch
):
    _forbid_training(monkeypatch)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "report.html").write_text("earlier report")
    marker = {"files": [_marker_entry(folder / "report.html")]}
    (folder / cli.MARKER).write_text(json.dumps(marker))
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    if kind == "link":
        (folder / "summary.csv").symlink_to(notes)
    elif kind == "folder":
        (folder / "summary.csv").mkdir()
    else:
        (folder / "summary.csv").write_text("mine")
    status, _, err = _run(capsys, "--cv", 2, "--out", folder, "--overwrite")
    assert status == 2
    reason = (
        "not listed in the marker" if kind == "unlisted file" else "not a plain file"
    )
    assert f"holds summary.csv ({reason}) under the names a report writes" in err
    assert notes.read_text() == "mine"
    assert (folder / "report.html").read_text() == "earlier report"


def _marker_entry(path):
    import hashlib

    data = Path(path).read_bytes()
    return {
        "name": Path(path).name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


@pytest.mark.slow
def test_earlier_report_is_replaced_only_with_overwrite(csv_path, tmp_path, capsys):
    out_dir = tmp_path / "out"
    args = ["--data", csv_path, "--max-epochs", 1, "--cv", 2, "--out", out_dir]
    status, _, err = _run(capsys, *args)
    assert status == 0, err
    marker = json.loads((out_dir / cli.MARKER).read_text())
    # Each file written is recorded with its size and SHA-256.
    recorded = {entry["name"]: entry for entry in marker["files"]}
    assert REPORT_FILES <= set(recorded)
    assert recorded["report.html"] == _marker_entry(out_dir / "report.html")
    # A file of the user's, and a figure only the earlier report wrote, as
    # it wrote it.
    (out_dir / "notes.txt").write_text("mine")
    (out_dir / "prediction_error.png").write_bytes(b"old figure")
    marker["files"].append(_marker_entry(out_dir / "prediction_error.png"))
    (out_dir / cli.MARKER).write_text(json.dumps(marker))

    status, _, err = _run(capsys, *args)
    assert status == 2
    assert "holds an earlier report; pass --overwrite" in err
    status, out, err = _run(capsys, *args, "--overwrite")
    assert status == 0, err
    assert (out_dir / "notes.txt").read_text() == "mine"
    assert "notes.txt: not written by this command" in out
    assert not (out_dir / "prediction_error.png").exists()
    _assert_report_dir(out_dir)

    # A file the report wrote and someone changed since is not removed:
    # the command stops before training and names it.
    (out_dir / "folds.csv").write_text("my edits")
    status, _, err = _run(capsys, *args, "--overwrite")
    assert status == 2
    assert "holds folds.csv (changed since the earlier report wrote it)" in err
    assert (out_dir / "folds.csv").read_text() == "my edits"
    assert (out_dir / "report.html").is_file()


@pytest.mark.parametrize("listed", ["by name", "with its size and hash"])
@pytest.mark.slow
def test_overwrite_keeps_a_users_file_listed_in_the_marker(
    listed, csv_path, tmp_path, capsys
):
    out_dir = tmp_path / "out"
    args = ["--data", csv_path, "--max-epochs", 1, "--cv", 2, "--out", out_dir]
    status, _, err = _run(capsys, *args)
    assert status == 0, err
    notes = out_dir / "notes.txt"
    notes.write_text("my notes")
    # A tampered marker claims the user's file: even with its true hash, a
    # name a report never writes is never removed.
    marker = json.loads((out_dir / cli.MARKER).read_text())
    entry = "notes.txt" if listed == "by name" else _marker_entry(notes)
    marker["files"].append(entry)
    marker["files"].append("../outside.txt")
    (out_dir / cli.MARKER).write_text(json.dumps(marker))
    outside = tmp_path / "outside.txt"
    outside.write_text("mine too")

    status, out, err = _run(capsys, *args, "--overwrite")
    assert status == 0, err
    assert notes.read_text() == "my notes"
    assert outside.read_text() == "mine too"
    assert "notes.txt: listed in the marker, but not a file a report writes" in out
    rewritten = json.loads((out_dir / cli.MARKER).read_text())
    assert "notes.txt" not in {entry["name"] for entry in rewritten["files"]}


def test_overwrite_refuses_a_marker_without_hashes(tmp_path, capsys, monkeypatch):
    """An earlier report listed by name only: nothing proves the files are its own."""
    _forbid_training(monkeypatch)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "report.html").write_text("who wrote this?")
    (folder / cli.MARKER).write_text(json.dumps({"files": ["report.html"]}))
    status, _, err = _run(capsys, "--cv", 2, "--out", folder, "--overwrite")
    assert status == 2
    assert "report.html (listed in the marker without its size and hash)" in err
    assert (folder / "report.html").read_text() == "who wrote this?"


def test_the_out_folder_rules_know_every_file_a_report_writes():
    from nnestimators.cli.output import REPORT_FILE_NAMES
    from nnestimators.reports.export import TABLE_FILES
    from nnestimators.reports.page import FIGURE_TITLES

    written = {*TABLE_FILES, *(f"{name}.png" for name in FIGURE_TITLES)}
    assert REPORT_FILE_NAMES == written | {cli.MARKER}


@pytest.mark.slow
def test_empty_out_folder_is_used(csv_path, tmp_path, capsys):
    out_dir = tmp_path / "empty"
    out_dir.mkdir()
    status, _, err = _run(
        capsys, "--data", csv_path, "--max-epochs", 1, "--cv", 2, "--out", out_dir
    )
    assert status == 0, err
    assert (out_dir / cli.MARKER).is_file()


# -- columns ------------------------------------------------------------------


def _table_with_identifiers(n_rows=400, seed=0):
    rng = np.random.default_rng(seed)
    frame = _table(n_rows, seed).drop(columns=["price", "kind"])
    frame.insert(0, "user_id", [f"user-{i:06d}" for i in range(n_rows)])
    # Not an identifier: 60 values in 400 rows, beyond the one-hot cap.
    frame.insert(1, "shop", rng.choice([f"shop {i}" for i in range(60)], n_rows))
    return frame


@pytest.mark.slow
def test_identifier_columns_are_dropped_and_reported(tmp_path, capsys):
    path = tmp_path / "users.csv"
    _table_with_identifiers().to_csv(path, index=False)
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys,
        "--data",
        path,
        "--drop",
        "member",
        "--max-epochs",
        1,
        "--cv",
        2,
        "--out",
        out_dir,
    )
    assert status == 0, err
    assert (
        "dropped column 'user_id': identifier-like, 399 distinct values in 399 rows"
        in out
    )
    assert "dropped column 'member' (--drop)" in out
    assert "'shop'" not in out.split("Model:")[0].split("Data:")[0]
    html = (out_dir / "report.html").read_text()
    assert "user_id (identifier-like" in html and "member (--drop)" in html
    context = json.loads((out_dir / "metrics.json").read_text())["context"]
    assert context["Data"] == "users.csv"
    assert context["Features"].startswith("3 (1 numeric, 2 categorical)")
    assert context["Target column"] == "label"
    assert context["Target"].startswith("binary: no ")


def test_encoded_width_is_bounded():
    frame = _table_with_identifiers(n_rows=2000)
    X, dropped = cli.select_features(frame.drop(columns="label"), say=lambda t: None)
    assert list(dropped) == ["user_id"]
    encoded = cli.make_preprocessor(X).fit_transform(X)
    # age, member (2 values), city (3 and a missing value), shop capped at 50.
    assert encoded.shape == (2000, 1 + 2 + 3 + cli.MAX_CATEGORIES)


def test_very_many_categories_are_dropped():
    rng = np.random.default_rng(0)
    n_rows = 6000
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n_rows),
            "word": [f"w{i}" for i in rng.integers(0, 1500, n_rows)],
        }
    )
    _, dropped = cli.select_features(frame, say=lambda t: None)
    assert dropped["word"].startswith("too many categories")


def test_unknown_drop_column_is_one_line_error(csv_path, tmp_path, capsys):
    status, _, err = _run(capsys, "--data", csv_path, "--drop", "colour")
    assert status == 2
    assert err.startswith("nnestimators: error: --drop names an unknown column")
    assert "available columns: age, city, member" in err
    status, _, err = _run(capsys, "--data", csv_path, "--drop", "label")
    assert status == 2 and "names the target column" in err


@pytest.mark.slow
def test_large_table_with_identifier_column(tmp_path, capsys):
    """200,000 rows with a unique ID: dense one-hot would need ~300 GB."""
    rng = np.random.default_rng(0)
    n_rows = 200_000
    frame = pd.DataFrame(
        {
            "id": [f"id{i}" for i in range(n_rows)],
            "x": rng.normal(size=n_rows),
            "shop": rng.choice([f"s{i}" for i in range(300)], n_rows),
        }
    )
    frame["y"] = (frame["x"] > 0).astype(int)
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    status, out, err = _run(
        capsys, "--data", path, "--max-epochs", 1, "--cv", 2, "--out", tmp_path / "o"
    )
    assert status == 0, err
    assert "dropped column 'id'" in out


# -- reading the table --------------------------------------------------------


@pytest.mark.parametrize("delimiter, name", [(";", "';'"), ("\t", "tab")])
@pytest.mark.slow
def test_other_delimiters_are_detected(delimiter, name, tmp_path, capsys):
    path = tmp_path / "table.csv"
    table = _table().drop(columns=["price", "kind"])
    table.to_csv(path, index=False, sep=delimiter, decimal=",")
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys, "--data", path, "--max-epochs", 1, "--cv", 2, "--out", out_dir
    )
    assert status == 0, err
    assert f"Note: table.csv uses {name} as delimiter and decimal commas." in out
    assert "3 feature columns" in out


def test_sniffer_prefers_commas_and_reports_unreadable_semicolons(tmp_path, capsys):
    commas = _write(tmp_path, "c.csv", 'a,b\n"x;y",1\n"z;w",2\n')
    assert cli.sniff_delimiter(commas) == ","
    # Rows of unequal length: no delimiter fits; the error names the one seen.
    ragged = _write(tmp_path, "r.csv", "a;b;c\n1;2\n3\n")
    status, _, err = _run(capsys, "--data", ragged)
    assert status == 2
    assert "seems to use ';' as delimiter" in err


def test_seed_beyond_32_bits_is_rejected_by_the_parser(capsys, monkeypatch):
    _forbid_training(monkeypatch)
    status, _, err = _run(capsys, "--seed", 99999999999)
    assert status == 2
    assert err == (
        "nnestimators: error: argument --seed: must be an integer from 0 to "
        "4294967295; got '99999999999' (see 'nnestimators report --help')\n"
    )
    args = cli.build_parser().parse_args(["report", "--seed", str(2**32 - 1)])
    assert args.seed == 2**32 - 1


# -- progress and the page ----------------------------------------------------


@pytest.mark.slow
def test_fold_progress_and_still_improving_notes(
    csv_path, tmp_path, capsys, monkeypatch
):
    from nnestimators.reports import folds, notes

    # Which folds still improve depends on the data; the reports tests check
    # that rule. Here: every fold did, for the fold lines and for the notes.
    monkeypatch.setattr(folds, "still_improving", lambda est: True)
    monkeypatch.setattr(notes, "still_improving", lambda est: True)
    out_dir = tmp_path / "out"
    status, out, err = _run(
        capsys, "--data", csv_path, "--max-epochs", 2, "--cv", 3, "--out", out_dir
    )
    assert status == 0, err
    for fold in (1, 2, 3):
        assert f"fold {fold}/3 done in " in out
    assert out.count("; ended at the max_epochs cap while still improving") == 3
    # The fold lines replace the estimators' ConvergenceWarning.
    assert "Warning" not in err
    assert "Note: Folds 1, 2 and 3 of 3 ended at the max_epochs cap" in out
    document = json.loads((out_dir / "metrics.json").read_text())
    assert "max_epochs cap while still improving" in document["notes"][0]
    html = (out_dir / "report.html").read_text()
    assert "still improving" in html
    assert "table.csv" in html and "Target column" in html
    assert "<figcaption>ROC curve</figcaption>" in html


def test_threads_option_reaches_the_network():
    from nnestimators.reports.history import final_step

    X = _table().drop(columns=["label", "price", "kind"])
    parser = cli.build_parser()
    args = parser.parse_args(["report", "--threads", "2"])
    assert args.threads == 2
    model = cli.build_model("binary", X, args)
    assert final_step(model).n_threads == 2
    default = cli.build_model("binary", X, parser.parse_args(["report"]))
    estimator = cli.estimator_class("binary")
    assert final_step(default).n_threads == estimator().n_threads
    regression = cli.build_model("regression", X, args)
    assert regression[-1].n_threads == 2
