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
from sklearn.preprocessing import StandardScaler

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.reports import (
    CrossValidatedReport,
    cross_validated_report,
    plot_history,
)
from nnestimators.reports.export import frame_to_markdown
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
    axes = binary_report.figures()["training_curves"].axes
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    # Three folds, each with a train and a validation loss curve.
    assert len(axes[0].get_legend().get_texts()) == 2 * N_FOLDS


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
