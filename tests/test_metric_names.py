"""Keras's metric spellings work wherever Keras's monitor names do, through
one table (``training.metrics.KERAS_METRICS``): ``metrics=["acc"]`` records
the column that ``monitor="val_acc"`` finds, and each spelling scores what
its scikit-learn counterpart scores (Keras's errors with their own sign)."""

import fit_settings
import numpy as np
import pytest
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.metrics import hamming_loss, make_scorer

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.training.metrics import KERAS_METRICS, keras_column, make_scorers
from nnestimators.training.monitor import canonical_key, lower_is_better

FAST = {
    **fit_settings.FAST,
    "max_epochs": 3,
    "batch_size": 16,
    "validation_fraction": 0.25,
    "verbose": 0,
}


@pytest.mark.parametrize("spelling", sorted(KERAS_METRICS))
@pytest.mark.parametrize(
    "context", ["binary", "multiclass", "multilabel", "regression"]
)
def test_every_spelling_records_the_column_monitor_reads(spelling, context):
    an_error = KERAS_METRICS[spelling].lower_is_better
    if an_error != (context == "regression"):  # a metric of the other task
        with pytest.raises(ValueError, match="metrics: "):
            make_scorers([spelling], context)
        return
    (column,) = make_scorers([spelling], context)
    assert column == keras_column(spelling) == KERAS_METRICS[spelling].column
    assert canonical_key(f"val_{spelling}") == f"valid_{column}"
    assert canonical_key(spelling) == f"train_{column}"


def _problem(task):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 6).astype(np.float32)
    if task == "binary":
        return NNBinaryClassifier, X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    if task == "multiclass":
        return NNClassifier, X, np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])
    if task == "multilabel":
        X, y = make_multilabel_classification(120, 6, n_classes=3, random_state=0)
        return NNClassifier, X.astype(np.float32), y
    return NNRegressor, X, 10 * X[:, 0] - 5 * X[:, 1] + 3


def _label_accuracy(y_true, y_pred):
    return 1 - hamming_loss(y_true, y_pred)


# Each spelling, and the scikit-learn scorer it must equal (sign: -1 where
# scikit-learn negates an error that Keras records as it is).
EQUIVALENTS = {
    "binary": {
        "acc": ("accuracy", 1),
        "AUC": ("roc_auc", 1),
        "binary_accuracy": ("accuracy", 1),
        "precision": ("precision", 1),
        "Recall": ("recall", 1),
    },
    "multiclass": {
        "accuracy": ("accuracy", 1),
        "auc": ("roc_auc_ovr", 1),
        "sparse_categorical_accuracy": ("accuracy", 1),
        "categorical_accuracy": ("accuracy", 1),
        "precision": ("precision_macro", 1),
        "recall": ("recall_macro", 1),
    },
    "multilabel": {
        "acc": ("accuracy", 1),
        "binary_accuracy": (make_scorer(_label_accuracy), 1),
        "precision": ("precision_micro", 1),
        "recall": ("recall_micro", 1),
        "auc": ("roc_auc", 1),
    },
    "regression": {
        "mse": ("neg_mean_squared_error", -1),
        "mae": ("neg_mean_absolute_error", -1),
        "rmse": ("neg_root_mean_squared_error", -1),
        "RootMeanSquaredError": ("neg_root_mean_squared_error", -1),
    },
}


@pytest.mark.parametrize("task", sorted(EQUIVALENTS))
def test_keras_spellings_score_what_scikit_learn_scores(task):
    estimator, X, y = _problem(task)
    spellings = EQUIVALENTS[task]
    keras = estimator(metrics=list(spellings), **FAST).fit(X, y)
    reference = {f"ref{i}": scorer for i, (scorer, _) in enumerate(spellings.values())}
    sklearn = estimator(metrics=reference, **FAST).fit(X, y)
    found, expected = keras.history_frame(), sklearn.history_frame()
    for i, (spelling, (_, sign)) in enumerate(spellings.items()):
        for prefix in ("train", "valid"):
            np.testing.assert_allclose(
                found[f"{prefix}_{keras_column(spelling)}"],
                sign * expected[f"{prefix}_ref{i}"],
                rtol=1e-6,
                err_msg=spelling,
            )
    if task == "regression":  # Keras's errors are errors: positive
        assert (found["valid_mse"] > 0).all()


@pytest.mark.parametrize(
    "task, metric, monitor, best",
    [
        ("binary", "AUC", "val_AUC", np.argmax),
        ("binary", "acc", "val_acc", np.argmax),
        (
            "multiclass",
            "sparse_categorical_accuracy",
            "val_sparse_categorical_accuracy",
            np.argmax,
        ),
        ("regression", "mse", "val_mse", np.argmin),
        ("regression", "rmse", "rmse", np.argmin),
    ],
)
def test_monitor_finds_and_orders_keras_metrics(task, metric, monitor, best):
    estimator, X, y = _problem(task)
    # A monitor chosen for restore_best_weights is checked and tracked.
    net = estimator(metrics=[metric], monitor=monitor, **{**FAST, "max_epochs": 6})
    net.fit(X, y)
    values = net.history_frame()[canonical_key(monitor)].to_numpy()
    # Ties go to the first epoch that reached the best value.
    assert net.best_epoch_ == int(best(values)) + 1


def test_keras_error_under_a_name_of_ones_own_is_minimised():
    scorers = make_scorers({"err": "mse", "rmse": "neg_root_mean_squared_error"})
    assert lower_is_better("valid_err", scorers)
    # A scikit-learn score is maximised whatever its column is called.
    assert not lower_is_better("valid_rmse", scorers)
    assert not lower_is_better("valid_auc", make_scorers(["auc"]))


@pytest.mark.parametrize(
    "given, suggestion",
    [("acuracy", "'accuracy'"), ("rocauc", "'roc_auc'"), ("rmse_", "'rmse'")],
)
def test_unknown_names_suggest_scikit_learn_or_keras_spellings(given, suggestion):
    estimator, X, y = _problem("binary")
    with pytest.raises(ValueError, match="Did you mean") as caught:
        estimator(metrics=[given], **FAST).fit(X, y)
    assert suggestion in str(caught.value)
    assert "KERAS_METRICS" in str(caught.value)


@pytest.mark.parametrize(
    "name", ["AUC", "roc_auc", "acc", "precision", "binary_accuracy"]
)
def test_a_classification_metric_on_a_regressor_is_refused_before_training(name):
    X, y = make_regression(60, 4, random_state=0)
    net = NNRegressor(metrics=[name], max_epochs=2, validation_fraction=0.2)
    with pytest.raises(ValueError, match=rf"metrics: '{name}' scores classes"):
        net.fit(X, y)
    assert not hasattr(net, "module_")


@pytest.mark.parametrize("name", ["mse", "mae", "r2", "neg_mean_squared_error"])
def test_a_regression_metric_on_a_classifier_is_refused_before_training(name):
    X, y = make_classification(60, 4, random_state=0)
    net = NNClassifier(metrics=[name], max_epochs=2, validation_fraction=0.2)
    with pytest.raises(ValueError, match=rf"metrics: '{name}' scores predicted values"):
        net.fit(X, y)
