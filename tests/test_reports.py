"""Tests of nnestimators.reports: cross-validated reports and plot_history."""

import json
import re

import fit_settings
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_iris,
    make_classification,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    precision_score,
    root_mean_squared_error,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.reports import (
    CrossValidatedReport,
    cross_validated_report,
    figures,
    plot_history,
)
from nnestimators.reports.export import frame_to_markdown
from nnestimators.reports.formatting import format_number, mean_and_std
from nnestimators.reports.tasks import infer_task

N_FOLDS = 3
# Four epochs in each fold; torch threads left to n_threads="auto".
FAST = {**fit_settings.SEEDED, "max_epochs": 4, "batch_size": 32}
PNG_MAGIC = b"\x89PNG"

BINARY_METRICS = [
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "average_precision",
]
MULTICLASS_METRICS = [
    "accuracy",
    "f1_macro",
    "precision_macro",
    "recall_macro",
    "roc_auc_ovr",
]
REGRESSION_METRICS = ["rmse", "mae", "r2"]


def _bounded_ridge():
    from nnestimators.reports.bounded_ridge import BoundedRidgeCV

    return BoundedRidgeCV(max_rows=5)


def _subsample(X, y, n, stratify=True):
    X, _, y, _ = train_test_split(
        X, y, train_size=n, random_state=0, stratify=y if stratify else None
    )
    return X, y


@pytest.fixture(scope="module")
def binary_data():
    X, y = load_breast_cancer(return_X_y=True)
    # String labels: the positive class must be found as classes_[1].
    y = np.array(["benign", "malignant"])[1 - y]
    return _subsample(X, y, 180)


@pytest.fixture(scope="module")
def binary_report(binary_data):
    model = make_pipeline(
        StandardScaler(),
        NNBinaryClassifier(validation_fraction=0.2, metrics=["accuracy"], **FAST),
    )
    return cross_validated_report(model, *binary_data, cv=N_FOLDS, random_state=0)


@pytest.fixture(scope="module")
def multiclass_report():
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(
        StandardScaler(),
        NNClassifier(validation_fraction=0.2, metrics=["accuracy"], **FAST),
    )
    return cross_validated_report(model, X, y, cv=N_FOLDS, random_state=0)


@pytest.fixture(scope="module")
def regression_report():
    X, y = _subsample(*load_diabetes(return_X_y=True), 150, stratify=False)
    model = make_pipeline(
        StandardScaler(), NNRegressor(validation_fraction=0.2, lr=0.05, **FAST)
    )
    return cross_validated_report(model, X, y, cv=N_FOLDS, random_state=0)


def _expected_columns(metrics):
    return [
        *(f"test_{m}" for m in metrics),
        *(f"train_{m}" for m in metrics),
        "fit_time",
        "score_time",
        "best_epoch",
        "n_epochs",
    ]


@pytest.mark.parametrize(
    "fixture, task, metrics",
    [
        ("binary_report", "binary", BINARY_METRICS),
        ("multiclass_report", "multiclass", MULTICLASS_METRICS),
        ("regression_report", "regression", REGRESSION_METRICS),
    ],
)
def test_report_tables(request, fixture, task, metrics):
    report = request.getfixturevalue(fixture)
    assert isinstance(report, CrossValidatedReport)
    assert report.task == task
    assert report.metric_names == metrics

    folds = report.to_frame()
    assert list(folds.columns) == _expected_columns(metrics)
    assert list(folds.index) == [1, 2, 3]
    assert (folds["fit_time"] > 0).all()
    assert folds["n_epochs"].between(1, FAST["max_epochs"]).all()

    summary = report.summary()
    assert list(summary.index) == metrics
    assert list(summary.columns) == ["test_mean", "test_std", "train_mean", "train_std"]
    assert summary.notna().all().all()
    np.testing.assert_allclose(
        summary["test_mean"], folds[[f"test_{m}" for m in metrics]].mean()
    )
    text = str(report)
    assert task in text and "±" in text
    assert all(name in text for name in metrics)
    assert repr(report).startswith("<CrossValidatedReport")


@pytest.mark.parametrize("fixture", ["binary_report", "multiclass_report"])
def test_classification_scores_are_fractions(request, fixture):
    summary = request.getfixturevalue(fixture).summary()
    means = summary[["test_mean", "train_mean"]]
    assert ((means >= 0) & (means <= 1)).all().all()


def test_regression_errors_are_positive(regression_report):
    summary = regression_report.summary()
    assert (summary.loc[["rmse", "mae"], ["test_mean", "train_mean"]] > 0).all().all()


def test_out_of_fold_predictions_cover_every_sample(binary_report, binary_data):
    _, y = binary_data
    predictions = binary_report.predictions()
    assert list(predictions.index) == list(range(len(y)))
    np.testing.assert_array_equal(predictions["y_true"], y)
    assert predictions["y_score"].between(0, 1).all()
    assert sorted(predictions["fold"].unique()) == [1, 2, 3]


def test_fold_scores_match_out_of_fold_predictions(binary_report, regression_report):
    # The stored predictions come from the same fold estimators that were
    # scored, so recomputing a metric from them gives the fold's test score.
    binary = binary_report.to_frame()
    for fold in binary_report.folds:
        assert binary.loc[fold.fold, "test_accuracy"] == pytest.approx(
            accuracy_score(fold.y_true, fold.y_pred)
        )
        assert binary.loc[fold.fold, "test_precision"] == pytest.approx(
            precision_score(fold.y_true, fold.y_pred, pos_label="malignant")
        )
    regression = regression_report.to_frame()
    for fold in regression_report.folds:
        assert regression.loc[fold.fold, "test_rmse"] == pytest.approx(
            root_mean_squared_error(fold.y_true, fold.y_pred), rel=1e-5
        )
        assert regression.loc[fold.fold, "test_mae"] == pytest.approx(
            mean_absolute_error(fold.y_true, fold.y_pred), rel=1e-5
        )


def test_binary_positive_label_is_second_sorted_class(binary_report):
    assert binary_report.pos_label == "malignant"
    assert list(binary_report.classes) == ["benign", "malignant"]


@pytest.mark.parametrize(
    "fixture, names",
    [
        (
            "binary_report",
            {
                "training_curves",
                "roc_curve",
                "precision_recall_curve",
                "confusion_matrix",
                "calibration",
            },
        ),
        (
            "multiclass_report",
            {"training_curves", "confusion_matrix", "calibration"},
        ),
        ("regression_report", {"training_curves", "prediction_error"}),
    ],
)
def test_figures(request, fixture, names):
    report = request.getfixturevalue(fixture)
    figures = report.figures()
    assert set(figures) == names
    assert list(figures) == report.figure_names()
    assert all(isinstance(figure, Figure) for figure in figures.values())


def test_training_curves_have_loss_and_recorded_metric(binary_report):
    figure = binary_report.figures()["training_curves"]
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    # Three folds, each with a train (solid) and a validation (dashed) curve.
    styles = [line.get_linestyle() for line in axes[0].get_lines()]
    assert styles.count("-") == N_FOLDS and styles.count("--") == N_FOLDS
    # One legend, outside the panels, so that it hides no curve.
    assert all(ax.get_legend() is None for ax in axes)
    (legend,) = figure.legends
    texts = [text.get_text() for text in legend.get_texts()]
    assert texts == ["fold 1", "fold 2", "fold 3", "training", "validation"] + [
        "best epoch"
    ]
    figure.canvas.draw()
    legend_box = legend.get_window_extent()
    for ax in axes:
        assert not legend_box.overlaps(ax.get_window_extent())


def _history(columns, n_epochs=5):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"epoch": np.arange(1, n_epochs + 1)})
    for column in columns:
        frame[column] = rng.random(n_epochs)
    return frame


def test_training_curves_draw_every_recorded_train_and_valid_metric():
    histories = [
        # Histories with train_<metric> keys, as the estimators will record.
        _history(["train_loss", "valid_loss", "train_accuracy", "valid_accuracy"]),
        _history(["train_loss", "valid_loss", "valid_accuracy"]),
        _history(["train_loss", "train_r2"]),
    ]
    figure = figures.training_curves_figure(histories)
    axes = {ax.get_title(): ax for ax in figure.axes}
    assert list(axes) == ["loss", "accuracy", "r2"]

    def styles(name):
        return sorted(
            (line.get_label(), line.get_linestyle()) for line in axes[name].get_lines()
        )

    assert styles("accuracy") == [
        ("fold 1 train", "-"),
        ("fold 1 valid", "--"),
        ("fold 2 valid", "--"),
    ]
    assert styles("r2") == [("fold 3 train", "-")]
    assert len(axes["loss"].get_lines()) == 5


def test_plot_history_with_train_metrics():
    history = _history(["train_loss", "valid_loss", "train_f1", "valid_f1"])
    history = history.drop(columns="train_loss")
    figure = plot_history(history)
    assert [ax.get_title() for ax in figure.axes] == ["loss", "f1"]
    lines = figure.axes[1].get_lines()
    assert [line.get_label() for line in lines] == ["train", "valid"]
    # The same colour for a split in every panel, and one legend outside.
    assert figure.axes[0].get_lines()[0].get_color() == lines[1].get_color()
    assert all(ax.get_legend() is None for ax in figure.axes)
    (legend,) = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == ["valid", "train"]


@pytest.mark.slow
def test_save_writes_parseable_files(binary_report, tmp_path):
    paths = binary_report.save(tmp_path / "report")
    figures = binary_report.figures()
    expected = {
        "report.html",
        "folds.csv",
        "summary.csv",
        "predictions.csv",
        "metrics.json",
    }
    expected |= {f"{name}.png" for name in figures}
    assert set(paths) == expected
    assert all(path.is_file() for path in paths.values())

    folds = pd.read_csv(paths["folds.csv"], index_col="fold")
    pd.testing.assert_frame_equal(
        folds, binary_report.to_frame(), check_dtype=False, check_exact=False
    )
    summary = pd.read_csv(paths["summary.csv"], index_col="metric")
    assert list(summary.index) == BINARY_METRICS

    document = json.loads(paths["metrics.json"].read_text())
    assert document["task"] == "binary"
    assert document["n_splits"] == N_FOLDS
    assert document["positive_label"] == "malignant"
    assert set(document["summary"]) == set(BINARY_METRICS)
    assert len(document["folds"]) == N_FOLDS

    html = paths["report.html"].read_text()
    assert html.count("data:image/png;base64,") == len(figures)
    assert "<table" in html and "accuracy" in html
    for name in figures:
        assert paths[f"{name}.png"].read_bytes().startswith(PNG_MAGIC)


def test_to_html_returns_page_and_writes_file(multiclass_report, tmp_path):
    path = tmp_path / "page.html"
    page = multiclass_report.to_html(path)
    assert page.startswith("<!DOCTYPE html>")
    assert path.read_text() == page
    assert "data:image/png;base64," in page


def test_to_markdown_with_and_without_tabulate(regression_report, monkeypatch):
    markdown = regression_report.to_markdown()
    assert "| rmse" in markdown and "## Folds" in markdown

    import importlib.util

    original = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tabulate" else original(name, *a),
    )
    plain = frame_to_markdown(regression_report.summary())
    lines = plain.splitlines()
    assert lines[0].startswith("| metric | test_mean")
    assert lines[1].startswith("|---|")
    assert len(lines) == 2 + len(REGRESSION_METRICS)


@pytest.mark.slow
def test_any_scikit_learn_estimator_without_history():
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression())
    report = cross_validated_report(
        model, X, y, cv=N_FOLDS, return_train_score=False, random_state=0
    )
    assert "best_epoch" not in report.to_frame()
    assert list(report.summary().columns) == ["test_mean", "test_std"]
    assert set(report.figures()) == {"confusion_matrix", "calibration"}


def test_custom_scoring_shows_errors_as_positive():
    X, y = load_diabetes(return_X_y=True)
    report = cross_validated_report(
        LinearRegression(),
        X,
        y,
        cv=N_FOLDS,
        scoring=["neg_mean_squared_error", "r2"],
        random_state=0,
    )
    assert report.metric_names == ["mse", "r2"]
    assert (report.to_frame()["test_mse"] > 0).all()


def test_task_inference_and_errors():
    assert infer_task(NNBinaryClassifier(), ["a", "b", "b"]) == "binary"
    assert infer_task(make_pipeline(NNRegressor()), [1, 2, 3]) == "regression"
    assert infer_task(NNClassifier(), [0, 1, 2]) == "multiclass"
    with pytest.raises(ValueError, match="needs a classifier"):
        infer_task(NNRegressor(), [0, 1], task="binary")
    with pytest.raises(ValueError, match="Unknown label type"):
        infer_task(NNClassifier(), [0.5, 1.5, 2.25])
    with pytest.raises(ValueError, match="single class"):
        infer_task(NNClassifier(), ["a", "a"])
    with pytest.raises(ValueError, match="cv must be at least 2"):
        cross_validated_report(LinearRegression(), [[0.0], [1.0]], [0.0, 1.0], cv=1)


def test_plot_history_of_estimator_pipeline_and_frame(binary_report, tmp_path):
    pipeline = binary_report.estimators_[0]
    network = pipeline[-1]
    history = network.history_frame()
    for source in (network, pipeline):
        figure = plot_history(source)
        assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
        labels = [line.get_label() for line in figure.axes[0].get_lines()]
        assert labels == ["train", "valid", "best epoch"]
        best_line = figure.axes[0].get_lines()[-1]
        assert best_line.get_xdata()[0] == network.best_epoch_
    frame_figure = plot_history(history, metrics=[])
    assert [ax.get_title() for ax in frame_figure.axes] == ["loss"]
    path = tmp_path / "history.png"
    plot_history(network).savefig(path)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_plot_history_errors(binary_report):
    with pytest.raises(ValueError, match="not fitted"):
        plot_history(NNClassifier())
    with pytest.raises(ValueError, match="not fitted"):
        plot_history(make_pipeline(StandardScaler(), NNRegressor()))
    with pytest.raises(ValueError, match="records no training history"):
        plot_history(LogisticRegression().fit([[0], [1]], [0, 1]))
    with pytest.raises(ValueError, match="were not recorded"):
        plot_history(binary_report.estimators_[0], metrics=["f1"])


@pytest.mark.parametrize(
    "value, digits, text",
    [
        (37260.41, 4, "37,260"),
        (3801.7, 2, "3,800"),
        (1234567.0, 4, "1,235,000"),
        (0.96134, 4, "0.9613"),
        (0.0123, 2, "0.012"),
        (2.0, 4, "2"),
        (-1520.6, 4, "-1,521"),
        (1.5e-7, 2, "1.5e-07"),
        (float("nan"), 4, "nan"),
    ],
)
def test_format_number(value, digits, text):
    assert format_number(value, digits) == text


def test_mean_and_std_is_readable():
    assert mean_and_std(37260.4, 3801.2) == "37,260 ± 3,800"
    assert mean_and_std(0.96134, 0.0123) == "0.9613 ± 0.012"
    assert mean_and_std(0.5, float("nan")) == "0.5"


@pytest.fixture(scope="module")
def large_target_report():
    """A regression in the tens of thousands, as house prices are."""
    X, y = load_diabetes(return_X_y=True)
    return cross_validated_report(
        LinearRegression(), X, 1000 * y, cv=N_FOLDS, random_state=0
    )


def test_regression_summary_prints_readable_numbers(large_target_report):
    text = str(large_target_report)
    assert "e+" not in text
    rmse = large_target_report.formatted_summary().loc["rmse", "test"]
    mean, std = rmse.split(" ± ")
    assert "," in mean and "," in std  # thousands separators
    assert len(mean.replace(",", "")) <= 6


def test_regression_tick_labels_do_not_run_together(large_target_report):
    figure = large_target_report.figures()["prediction_error"]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_text()]
            assert 2 <= len(labels) <= 7
            assert all("e" not in t.get_text() for t in labels)
            assert axis.get_offset_text().get_text() == ""
            boxes = [t.get_window_extent(renderer) for t in labels]
            for left, right in zip(boxes, boxes[1:]):
                assert not left.overlaps(right)
        assert any("," in t.get_text() for t in ax.yaxis.get_ticklabels())


@pytest.mark.slow
def test_progress_is_reported_per_fold():
    X, y = load_iris(return_X_y=True)
    seen = []
    report = cross_validated_report(
        LogisticRegression(max_iter=200),
        X,
        y,
        cv=N_FOLDS,
        random_state=0,
        progress=seen.append,
    )
    assert [result.fold for result in seen] == [1, 2, 3]
    assert all(result.n_splits == N_FOLDS for result in seen)
    assert all(result.seconds > 0 for result in seen)
    assert seen[0].test_scores["accuracy"] == report.to_frame().loc[1, "test_accuracy"]
    assert [r.estimator for r in seen] == report.estimators_


@pytest.mark.slow
def test_progress_with_parallel_folds():
    X, y = load_iris(return_X_y=True)
    seen = []
    report = cross_validated_report(
        LogisticRegression(max_iter=200),
        X,
        y,
        cv=N_FOLDS,
        n_jobs=2,
        random_state=0,
        progress=seen.append,
    )
    assert sorted(result.fold for result in seen) == [1, 2, 3]
    sequential = cross_validated_report(
        LogisticRegression(max_iter=200), X, y, cv=N_FOLDS, random_state=0
    )
    pd.testing.assert_frame_equal(
        report.to_frame().filter(like="test_"),
        sequential.to_frame().filter(like="test_"),
    )
    # Folds come back in fold order whatever order they finished in.
    for fold, index in zip(report.folds, sequential.cv_results["indices"]["test"]):
        np.testing.assert_array_equal(fold.test_index, index)


@pytest.mark.slow
def test_folds_stopped_while_improving_are_noted(binary_report):
    expected = [
        number
        for number, pipeline in enumerate(binary_report.estimators_, start=1)
        if pipeline[-1].history_frame()["valid_loss_best"].iloc[-1]
    ]
    assert binary_report.still_improving_folds() == expected
    # Four epochs with patience 5 cannot stop early: at least one fold was
    # still improving at the cap, and the note says so.
    assert expected
    (note,) = binary_report.notes()
    assert "max_epochs cap while still improving" in note
    html = binary_report.to_html()
    assert "<h2>Notes</h2>" in html and "still improving" in html


def test_still_improving_reads_the_monitor_flag():
    from nnestimators.reports.history import still_improving

    history = _history(["train_loss", "valid_loss"])
    history["valid_loss_best"] = [True, True, False, False, False]
    assert not still_improving(history)
    history.loc[4, "valid_loss_best"] = True
    # A history frame has no monitor; without the flag the loss decides.
    history["valid_loss"] = [5.0, 4.0, 3.0, 2.0, 1.0]
    assert still_improving(history.drop(columns="valid_loss_best"))
    assert not still_improving(LogisticRegression())


def test_still_improving_reads_a_keras_spelled_monitor():
    from nnestimators import NNBinaryClassifier
    from nnestimators.reports.history import still_improving

    X, y = make_classification(200, 5, random_state=0)
    net = NNBinaryClassifier(
        monitor="val_AUC",
        metrics=["AUC"],
        validation_fraction=0.25,
        max_epochs=4,
        random_state=0,
        n_threads=1,
    ).fit(X, y)
    flags = net.history_[:, "valid_auc_best"]
    # Flip the last flag: the answer follows the monitor's column, not a loss.
    for last in (True, False):
        net.history_[-1]["valid_auc_best"] = last
        assert still_improving(net) is last
    assert len(flags) == 4


@pytest.mark.slow
def test_html_page_stands_alone(tmp_path):
    from sklearn.compose import make_column_transformer

    rng = np.random.default_rng(0)
    names = [f"a rather long measurement name {i:02d}" for i in range(40)]
    X = pd.DataFrame(rng.normal(size=(90, len(names))), columns=names)
    X["colour"] = rng.choice(["red", "green"], len(X))
    y = np.where(X[names[0]] > 0, "yes", "no")
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), names), ("passthrough", []), remainder="drop"
        ),
        LogisticRegression(),
    )
    report = cross_validated_report(
        model, X, y, cv=N_FOLDS, random_state=0, context={"Data": "plants.csv"}
    )
    assert report.context["Data"] == "plants.csv"
    assert report.context["Rows"] == "90"
    assert report.context["Features"] == "41 (40 numeric, 1 categorical)"
    assert report.context["Target"].startswith("binary: no ")
    html = report.to_html()
    for text in ("Data and model", "plants.csv", "41 (40 numeric, 1 categorical)"):
        assert text in html
    # Human captions, not raw names.
    assert "<figcaption>ROC curve</figcaption>" in html
    assert "<figcaption>Confusion matrix</figcaption>" in html
    assert "roc curve" not in html
    # Every table sits in its own box; the estimator text wraps.
    assert html.count("<table") == html.count("<div class='table-wrap'><table") >= 3
    assert "overflow-x: auto" in html and "white-space: pre-wrap" in html
    # The estimator's text is whole: no column name is cut.
    estimator = html.split("<h2>Estimator</h2>")[1]
    # Each name whole, in its quotes, not split into two strings.
    assert all(f"&#x27;{name}&#x27;" in estimator for name in names)
    assert "..." not in estimator
    report.save(tmp_path)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["context"]["Data"] == "plants.csv"
    assert saved["notes"] == []
    assert all(name in saved["estimator_repr"] for name in names)


class _ThreadRecordingRegression(LinearRegression):
    threads = set()

    def fit(self, X, y, sample_weight=None):
        import threading

        type(self).threads.add(threading.current_thread().name)
        return super().fit(X, y, sample_weight=sample_weight)


def test_folds_follow_the_joblib_backend_when_n_jobs_is_unset():
    # As cross_validate: a parallel_config (a Dask cluster, say) decides.
    from joblib import parallel_config

    X, y = load_diabetes(return_X_y=True)
    _ThreadRecordingRegression.threads.clear()
    cross_validated_report(_ThreadRecordingRegression(), X, y, cv=3)
    assert _ThreadRecordingRegression.threads == {"MainThread"}
    with parallel_config(backend="threading", n_jobs=2):
        cross_validated_report(_ThreadRecordingRegression(), X, y, cv=3)
    assert _ThreadRecordingRegression.threads - {"MainThread"}


def test_a_class_missing_from_a_test_fold_is_a_clear_error():
    X, y = load_iris(return_X_y=True)
    X, y = X[:102], y[:102]  # class 2 has 2 rows: one of 3 test folds lacks it
    with pytest.raises(ValueError, match=r"holds no row of class\(es\) 2 \(2 rows\)"):
        cross_validated_report(LogisticRegression(max_iter=500), X, y, cv=3)


def test_grouped_splitters_take_groups():
    from sklearn.model_selection import GroupKFold

    X, y = load_diabetes(return_X_y=True)
    groups = np.arange(len(y)) % 7
    report = cross_validated_report(
        LinearRegression(), X, y, cv=GroupKFold(3), groups=groups
    )
    expected = [
        LinearRegression().fit(X[train], y[train]).score(X[test], y[test])
        for train, test in GroupKFold(3).split(X, y, groups)
    ]
    np.testing.assert_allclose(report.to_frame()["test_r2"], expected)


@pytest.mark.slow
def test_the_page_describes_images_by_their_shape():
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    for images, expected in [
        (rng.random((40, 8, 8)), "images of 8x8 pixels, 1 channel(s)"),
        (rng.random((40, 3, 6, 5)), "images of 6x5 pixels, 3 channel(s)"),
    ]:
        model = make_pipeline(
            FunctionTransformer(lambda X: X.reshape(len(X), -1)), LogisticRegression()
        )
        report = cross_validated_report(model, images, y, cv=2)
        assert report.context["Features"] == expected


# -- baselines -----------------------------------------------------------------


def _splits(report):
    indices = report.cv_results["indices"]
    return list(zip(indices["train"], indices["test"]))


def test_baselines_are_scored_on_the_same_folds(binary_report, binary_data):
    from sklearn.model_selection import cross_validate

    X, y = binary_data
    assert list(binary_report.baselines) == ["dummy", "linear"]
    # The linear baseline is the network's Pipeline with its last step
    # swapped: the same scaler, the same folds, the same scorers.
    expected = cross_validate(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        X,
        y,
        cv=_splits(binary_report),
        scoring="roc_auc",
    )["test_score"]
    linear = binary_report.baselines["linear"]
    roc_auc = next(m for m in binary_report.metrics if m.name == "roc_auc")
    np.testing.assert_allclose(linear.scores("test", roc_auc), expected)
    summary = binary_report.baseline_summary()
    assert list(summary.index) == BINARY_METRICS
    # A dummy that ignores the features cannot rank: ROC-AUC is exactly 0.5.
    assert summary.loc["roc_auc", "dummy_test_mean"] == 0.5
    assert summary.loc["accuracy", "linear_test_mean"] > 0.85
    assert {"dummy_test_std", "linear_train_mean"} <= set(summary.columns)


def test_regression_baselines_are_mean_and_ridge(regression_report):
    baselines = regression_report.baselines
    assert baselines["dummy"].model == "DummyRegressor()"
    assert baselines["linear"].model.startswith("RidgeCV(")
    summary = regression_report.baseline_summary()
    # Ridge explains the diabetes target; the mean explains none of it.
    assert summary.loc["r2", "linear_test_mean"] > 0.3
    assert summary.loc["r2", "dummy_test_mean"] < 0.05
    sentence = regression_report.comparison()
    assert sentence.startswith("On rmse, ")
    assert "fold spread" in sentence and "folds" in sentence


def test_the_ridge_baseline_of_a_wide_long_table_searches_on_few_rows(monkeypatch):
    from sklearn.datasets import make_regression
    from sklearn.linear_model import Ridge, RidgeCV

    from nnestimators.reports import baselines, bounded_ridge

    # RidgeCV's leave-one-out decomposes a square matrix as wide as the
    # table's smaller side; a table wider and longer than the limit (lowered
    # here from 1,000 to 40) has it chosen on 40 rows, then refitted on all.
    monkeypatch.setattr(baselines, "MAX_SEARCH_ROWS", 40)
    searched = []

    class RecordingRidgeCV(RidgeCV):
        def fit(self, X, y, **kwargs):
            searched.append(X.shape)
            return super().fit(X, y, **kwargs)

    monkeypatch.setattr(bounded_ridge, "RidgeCV", RecordingRidgeCV)
    X, y = make_regression(
        n_samples=150, n_features=120, n_informative=10, noise=1.0, random_state=0
    )
    model = make_pipeline(StandardScaler(), Ridge())
    report = cross_validated_report(model, X, y, cv=N_FOLDS, random_state=0)
    linear = report.baselines["linear"]
    assert linear.error is None and report.notes() == []
    # 100 training rows of 120 columns in each fold: wider than long.
    assert searched == [(40, 120)] * N_FOLDS
    assert "on 40 of its rows" in linear.description
    # Refitted on every row, it still explains the target (the mean cannot).
    summary = report.baseline_summary()
    assert summary.loc["r2", "linear_test_mean"] > 0.5
    assert summary.loc["r2", "dummy_test_mean"] < 0.05


def test_bounded_ridge_is_ridgecv_while_its_matrix_is_small():
    from sklearn.linear_model import RidgeCV

    from nnestimators.reports.baselines import RIDGE_ALPHAS
    from nnestimators.reports.bounded_ridge import BoundedRidgeCV

    X, y = load_diabetes(return_X_y=True)
    bounded = BoundedRidgeCV(alphas=RIDGE_ALPHAS).fit(X, y)
    plain = RidgeCV(alphas=RIDGE_ALPHAS).fit(X, y)
    assert bounded.n_search_rows_ == len(X) and bounded.alpha_ == plain.alpha_
    np.testing.assert_allclose(bounded.predict(X), plain.predict(X), rtol=1e-12)


def test_bounded_ridge_refits_on_all_rows_with_the_chosen_penalty():
    from sklearn.datasets import make_regression
    from sklearn.linear_model import Ridge

    from nnestimators.reports.bounded_ridge import BoundedRidgeCV

    X, y = make_regression(n_samples=400, n_features=150, noise=5.0, random_state=0)
    bounded = BoundedRidgeCV(alphas=[0.1, 1.0, 10.0], max_rows=100).fit(X, y)
    assert bounded.n_search_rows_ == 100
    # LSQR, iterative, against an exact solve with the same penalty.
    exact = Ridge(alpha=bounded.alpha_, solver="cholesky").fit(X, y)
    gap = np.abs(bounded.predict(X) - exact.predict(X)).max()
    assert gap < 1e-2 * y.std()
    # Weights reach both the choice and the fit: ones change nothing.
    weighted = BoundedRidgeCV(alphas=[0.1, 1.0, 10.0], max_rows=100)
    weighted.fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(weighted.predict(X), bounded.predict(X), rtol=1e-6)


@pytest.mark.slow
def test_bounded_ridge_needs_memory_of_the_data_on_a_wide_sparse_table():
    import tracemalloc

    from scipy import sparse

    from nnestimators.reports.bounded_ridge import BoundedRidgeCV

    # 3,000 x 15,000 with 0.2% non-zeros: about 1 MB of values. RidgeCV would
    # decompose a dense 3,000 x 3,000 Gram matrix (72 MB, over 200 MB with
    # its eigenvectors and temporaries).
    X = sparse.random(3000, 15000, density=0.002, format="csr", random_state=0)
    y = np.asarray(X[:, :20].sum(axis=1)).ravel()
    tracemalloc.start()
    try:
        model = BoundedRidgeCV(alphas=[0.1, 1.0, 10.0], max_rows=300).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert model.n_search_rows_ == 300
    assert peak < 30e6
    assert model.predict(X[:5]).shape == (5,)


@parametrize_with_checks(
    [_bounded_ridge()],
    expected_failed_checks=lambda estimator: {
        # Leave-one-out leaves one copy of a repeated row in the training
        # part, while a weight of 2 leaves nothing: RidgeCV passes these
        # only through its cv parameter, which this estimator lacks.
        "check_sample_weight_equivalence_on_dense_data": "leave-one-out",
        "check_sample_weight_equivalence_on_sparse_data": "leave-one-out",
    },
)
def test_bounded_ridge_is_a_scikit_learn_estimator(estimator, check):
    # max_rows=5: the checks' tables (up to 30 rows) take both paths.
    check(estimator)


def _metric(name, sign=1):
    from nnestimators.reports.tasks import Metric

    return Metric(name, None, sign)


def test_comparison_sentence_names_the_best_and_the_gap_in_fold_spreads():
    from nnestimators.reports.baselines import comparison_sentence

    network = np.array([42_000.0, 43_500.0, 41_200.0])
    ridge = np.array([40_600.0, 41_900.0, 39_800.0])
    sentence = comparison_sentence(
        {"the network": network, "the linear baseline": ridge},
        _metric("rmse", sign=-1),
        3,
    )
    # Lower is better for an error: the linear baseline wins.
    assert sentence.startswith("On rmse, the linear baseline is best: 40,770 ± ")
    assert "for the network" in sentence
    assert "better on 3 of 3 folds" in sentence
    # The gap, 1,467, is about 1.3 times the larger fold spread (~1,160).
    assert "a difference of 1,500, 1.3 times the fold spread (1,200)" in sentence
    assert "though not by much" in sentence

    close = comparison_sentence(
        {
            "the network": np.array([0.90, 0.95, 0.92]),
            "the linear baseline": np.array([0.91, 0.93, 0.92]),
            "the dummy baseline": np.array([0.5, 0.5, 0.5]),
        },
        _metric("roc_auc"),
        3,
    )
    # The network is best: it is compared with the runner-up, not the dummy.
    assert close.startswith("On roc_auc, the network is best")
    assert "for the linear baseline" in close
    assert "do not tell them apart" in close


@pytest.mark.slow
def test_baselines_can_be_turned_off(tmp_path):
    X, y = load_iris(return_X_y=True)
    report = cross_validated_report(
        LogisticRegression(max_iter=500), X, y, cv=N_FOLDS, baselines=False
    )
    assert report.baselines == {}
    assert report.comparison() is None
    assert report.baseline_summary().columns.empty
    report.save(tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv", index_col="metric")
    assert list(summary.columns) == ["test_mean", "test_std", "train_mean", "train_std"]
    document = json.loads((tmp_path / "metrics.json").read_text())
    assert document["baselines"] == {} and document["comparison"] is None
    assert "Baselines" not in str(report)


class _FlatteningClassifier(LogisticRegression):
    """A classifier of images: the linear baseline gets the images as they are."""

    def fit(self, X, y):
        return super().fit(np.reshape(X, (len(X), -1)), y)

    def predict(self, X):
        return super().predict(np.reshape(X, (len(X), -1)))

    def predict_proba(self, X):
        return super().predict_proba(np.reshape(X, (len(X), -1)))

    def decision_function(self, X):
        return super().decision_function(np.reshape(X, (len(X), -1)))


def test_a_failing_baseline_is_a_note_not_an_error():
    rng = np.random.default_rng(0)
    images = rng.random((40, 4, 4))
    y = np.arange(40) % 2
    report = cross_validated_report(_FlatteningClassifier(), images, y, cv=2)
    assert report.baselines["linear"].error.startswith("ValueError: Found array")
    assert report.baselines["linear"].cv_results is None
    assert report.baselines["dummy"].error is None
    (note,) = report.notes()
    assert note.startswith("The linear baseline (LogisticRegression(max_iter=1000))")
    # The comparison goes on with the baseline that worked.
    assert "the dummy baseline (DummyClassifier)" in report.comparison()


def test_baselines_of_a_search_share_its_preprocessing():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.model_selection import GridSearchCV
    from sklearn.preprocessing import PowerTransformer

    from nnestimators.reports.baselines import with_final_step

    pipeline = make_pipeline(StandardScaler(), LinearRegression())
    search = GridSearchCV(pipeline, {"linearregression__fit_intercept": [True]})
    swapped = with_final_step(search, LogisticRegression())
    assert [name for name, _ in swapped.steps] == [
        "standardscaler",
        "linearregression",
    ]
    assert isinstance(swapped[-1], LogisticRegression)
    assert isinstance(pipeline[-1], LinearRegression)  # the original is untouched
    wrapped = TransformedTargetRegressor(
        regressor=pipeline, transformer=PowerTransformer()
    )
    swapped = with_final_step(wrapped, LinearRegression(positive=True))
    assert isinstance(swapped.transformer, PowerTransformer)
    assert swapped.regressor[-1].positive


def test_searches_are_recognised_once_for_every_unwrapping():
    """is_search is the one test behind final_step and the baselines' swap."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import (
        GridSearchCV,
        HalvingRandomSearchCV,
        RandomizedSearchCV,
    )

    from nnestimators.reports.baselines import with_final_step
    from nnestimators.reports.history import final_step
    from nnestimators.reports.searches import is_search

    pipeline = make_pipeline(StandardScaler(), LinearRegression())
    grid = {"linearregression__fit_intercept": [True, False]}
    for search in (
        GridSearchCV(pipeline, grid),
        RandomizedSearchCV(pipeline, grid, n_iter=1),
        HalvingRandomSearchCV(pipeline, grid),
    ):
        assert is_search(search)
        assert final_step(search) is pipeline[-1]
        swapped = with_final_step(search, LogisticRegression())
        assert isinstance(swapped, type(pipeline))
        assert isinstance(swapped[-1], LogisticRegression)
    assert not is_search(pipeline) and not is_search(LinearRegression())


# -- predictions, provenance, searches and the page -----------------------------


@pytest.mark.slow
def test_predictions_have_row_labels_and_class_probabilities():
    X, y = load_iris(return_X_y=True, as_frame=True)
    X.index = X.index + 1000  # labels that are not positions
    y.index = X.index
    report = cross_validated_report(
        make_pipeline(StandardScaler(), LogisticRegression()), X, y, cv=N_FOLDS
    )
    predictions = report.predictions()
    assert len(predictions) == len(X)
    assert list(predictions.columns) == [
        "row",
        "fold",
        "y_true",
        "y_pred",
        "proba_0",
        "proba_1",
        "proba_2",
    ]
    np.testing.assert_array_equal(predictions["row"], X.index)
    np.testing.assert_array_equal(predictions["y_true"], y)
    probabilities = predictions[["proba_0", "proba_1", "proba_2"]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), predictions["y_pred"])


@pytest.mark.slow
def test_saved_predictions_versions_and_command(binary_report, binary_data, tmp_path):
    _, y = binary_data
    binary_report.command = "nnestimators report --cv 3"
    try:
        binary_report.save(tmp_path)
    finally:
        binary_report.command = None
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == len(y)
    assert list(predictions.columns[:4]) == ["row", "fold", "y_true", "y_pred"]
    assert {"proba_benign", "proba_malignant"} <= set(predictions.columns)
    np.testing.assert_allclose(predictions["proba_malignant"], predictions["y_score"])
    document = json.loads((tmp_path / "metrics.json").read_text())
    assert set(document["versions"]) == {
        "nnestimators",
        "torch",
        "skorch",
        "scikit-learn",
        "numpy",
        "pandas",
        "Python",
    }
    import sklearn
    import torch

    assert document["versions"]["torch"] == torch.__version__
    assert document["versions"]["scikit-learn"] == sklearn.__version__
    assert document["command"] == "nnestimators report --cv 3"
    assert set(document["baselines"]) == {"dummy", "linear"}
    linear = document["baselines"]["linear"]
    assert linear["model"] == "LogisticRegression(max_iter=1000)"
    assert len(linear["folds"]) == N_FOLDS
    assert set(linear["summary"]) == set(BINARY_METRICS)
    assert document["comparison"] == binary_report.comparison()
    summary = pd.read_csv(tmp_path / "summary.csv", index_col="metric")
    assert {"linear_test_mean", "dummy_test_mean"} <= set(summary.columns)
    html = (tmp_path / "report.html").read_text()
    for text in ("nnestimators report --cv 3", "torch " + torch.__version__):
        assert text in html
    for text in ("linear baseline, test", "dummy baseline, test", "LogisticRegression"):
        assert text in html


def _as_text(frame):
    """A module-level function: its repr carries a memory address."""
    return frame


@pytest.mark.slow
def test_search_choices_are_on_the_page_without_memory_addresses(tmp_path):
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    model = make_pipeline(
        FunctionTransformer(_as_text),
        StandardScaler(),
        NNClassifier(max_epochs=2, random_state=0, batch_size=32),
    )
    grid = {
        "nnclassifier__lr": [0.01, 0.03],
        "nnclassifier__module__hidden_units": [(8,), (16, 8)],
    }
    search = GridSearchCV(model, grid, cv=2)
    report = cross_validated_report(search, X, y, cv=2, random_state=0)
    chosen = report.chosen_parameters()
    assert list(chosen.index) == [1, 2]
    assert list(chosen.columns) == ["lr", "module__hidden_units", "best_inner_score"]
    for fold, estimator in enumerate(report.estimators_, start=1):
        network = estimator.best_estimator_[-1]
        assert chosen.loc[fold, "lr"] == network.lr
        assert chosen.loc[fold, "module__hidden_units"] == network.module__hidden_units
    html = report.to_html()
    assert "Chosen parameters per fold" in html
    assert str(chosen.loc[1, "module__hidden_units"]) in html
    assert "_as_text" in html
    # No memory address outside the embedded images (base64 may hold "0x").
    text = re.sub(r"data:image/png;base64,[^']*", "", html)
    assert re.search(r"0x[0-9a-fA-F]{4,}", text) is None
    report.save(tmp_path)
    document = json.loads((tmp_path / "metrics.json").read_text())
    first = document["chosen_parameters"][0]
    assert first["fold"] == 1
    assert first["parameters"]["module__hidden_units"] == list(
        chosen.loc[1, "module__hidden_units"]
    )
    assert "0x" not in document["estimator_repr"]


@pytest.mark.slow
def test_the_epoch_cap_note_is_on_the_page(binary_report, monkeypatch):
    from nnestimators.reports import notes

    monkeypatch.setattr(notes, "ended_before_early_stopping", lambda est: True)
    monkeypatch.setattr(notes, "still_improving", lambda est: False)
    (note,) = binary_report.notes()
    assert note.startswith("Folds 1, 2 and 3 of 3 ended at the max_epochs cap")
    assert "before early stopping triggered" in note
    html = binary_report.to_html(None)
    assert "before early stopping triggered" in html


def _fitted_stub(patience, best_epoch, n_epochs):
    from sklearn.base import BaseEstimator

    class Stub(BaseEstimator):
        def __init__(self):
            self.patience = patience
            self.best_epoch_ = best_epoch
            self.monitor = "valid_loss"

        def fit(self, X, y):
            return self

        def __sklearn_is_fitted__(self):
            return True

        def history_frame(self):
            return pd.DataFrame({"epoch": np.arange(1, n_epochs + 1)})

    return Stub()


@pytest.mark.parametrize(
    "patience, best_epoch, n_epochs, expected",
    [
        (10, 152, 154, True),  # ended 2 epochs after its best: the cap
        (10, 46, 56, False),  # 10 epochs without improvement: early stopping
        (10, 20, 20, True),  # still improving at the cap
        (None, 5, 20, False),  # no early stopping to wait for
        (10, None, 20, False),  # no best epoch recorded
    ],
)
def test_ended_before_early_stopping(patience, best_epoch, n_epochs, expected):
    from nnestimators.reports.history import ended_before_early_stopping

    stub = _fitted_stub(patience, best_epoch, n_epochs)
    assert ended_before_early_stopping(stub) is expected


def test_the_loss_panel_names_its_loss_and_units(binary_report, regression_report):
    from nnestimators.reports.history import loss_label

    assert loss_label(binary_report.estimators_[0]) == "binary cross-entropy (nats)"
    regression = loss_label(regression_report.estimators_[0])
    assert regression == (
        "mean squared error of the standardised target (1 = the target's variance)"
    )
    figure = regression_report.figures()["training_curves"]
    assert " ".join(figure.axes[0].get_ylabel().split()) == regression


def test_confusion_matrix_has_counts_and_shares(multiclass_report):
    figure = multiclass_report.figures()["confusion_matrix"]
    counts, shares = figure.axes[:2]
    count_cells = counts.images[0].get_array()
    share_cells = shares.images[0].get_array()
    assert count_cells.sum() == 150
    np.testing.assert_allclose(share_cells.sum(axis=1), 1.0)
    np.testing.assert_allclose(share_cells, count_cells / count_cells.sum(1)[:, None])


def test_calibration_figure_bins_the_out_of_fold_probabilities(binary_report):
    figure = binary_report.figures()["calibration"]
    curve, counts = figure.axes
    assert curve.get_title() == "Calibration (reliability diagram)"
    _, line = curve.get_lines()  # the diagonal, then the model's curve
    assert np.all((line.get_xdata() >= 0) & (line.get_xdata() <= 1))
    assert np.all((line.get_ydata() >= 0) & (line.get_ydata() <= 1))
    heights = [patch.get_height() for patch in counts.patches]
    assert sum(heights) == len(binary_report.predictions())


@pytest.mark.slow
def test_page_tables_have_no_index_name_row(binary_report):
    html = binary_report.to_html()
    assert "<th></th>" not in html
    assert "<th scope='col'>fold</th>" in html
    assert "<th scope='col'>metric</th>" in html
