"""Tests of nnestimators.reports: cross-validated reports and plot_history."""

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
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
FAST = {"max_epochs": 4, "batch_size": 32, "random_state": 0}
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
            },
        ),
        ("multiclass_report", {"training_curves", "confusion_matrix"}),
        ("regression_report", {"training_curves", "prediction_error"}),
    ],
)
def test_figures(request, fixture, names):
    figures = request.getfixturevalue(fixture).figures()
    assert set(figures) == names
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


def test_save_writes_parseable_files(binary_report, tmp_path):
    paths = binary_report.save(tmp_path / "report")
    figures = binary_report.figures()
    expected = {"report.html", "folds.csv", "summary.csv", "metrics.json"}
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


def test_any_scikit_learn_estimator_without_history():
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression())
    report = cross_validated_report(
        model, X, y, cv=N_FOLDS, return_train_score=False, random_state=0
    )
    assert "best_epoch" not in report.to_frame()
    assert list(report.summary().columns) == ["test_mean", "test_std"]
    assert set(report.figures()) == {"confusion_matrix"}


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
    # Tables scroll inside their own box; the estimator text wraps.
    assert html.count("<div class='table-wrap'><table") == 2
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
