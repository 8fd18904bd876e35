"""MLPClassifier's fitted attribute names, computed from the history."""

import math
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor

ATTRIBUTES = [
    "n_iter_",
    "loss_curve_",
    "loss_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
]


Classifier, BinaryClassifier, Regressor = NNClassifier, NNBinaryClassifier, NNRegressor


@pytest.fixture(scope="module")
def small_iris():
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def _fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a ConvergenceWarning at max_epochs
        return estimator.fit(X, y, **fit_params)


@pytest.mark.parametrize("name", ATTRIBUTES)
def test_unfitted_raises_attribute_error(name):
    model = Classifier(max_epochs=2)
    assert not hasattr(model, name)
    with pytest.raises(AttributeError):
        getattr(model, name)
    # The class-level properties must not make it look fitted.
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_without_validation(small_iris):
    X, y = small_iris
    model = _fit(Classifier(max_epochs=4, random_state=0), X, y)
    history = model.history_
    assert model.n_iter_ == 4 == len(history)
    assert model.loss_curve_ == [row["train_loss"] for row in history]
    assert all(isinstance(v, float) for v in model.loss_curve_)
    assert model.loss_ == model.loss_curve_[-1]
    assert model.best_loss_ == min(model.loss_curve_)
    assert model.validation_scores_ is None
    assert model.best_validation_score_ is None


def test_with_validation_follows_early_stopping(small_iris):
    X, y = small_iris
    model = _fit(
        Classifier(
            max_epochs=30,
            validation_fraction=0.2,
            patience=2,
            min_delta=0.5,  # stops after patience epochs
            random_state=0,
        ),
        X,
        y,
    )
    assert model.n_iter_ == len(model.history_) < 30
    # As MLPClassifier(early_stopping=True): no best_loss_, accuracy scores.
    assert model.best_loss_ is None
    scores = model.validation_scores_
    assert scores == [row["valid_accuracy"] for row in model.history_]
    assert len(scores) == model.n_iter_
    assert model.best_validation_score_ == max(scores)


def test_monitored_metric_is_the_validation_score(small_iris):
    X, y = small_iris
    model = _fit(
        Classifier(
            max_epochs=3,
            validation_fraction=0.2,
            metrics=["accuracy", "neg_log_loss"],
            monitor="valid_neg_log_loss",
            random_state=0,
        ),
        X,
        y,
    )
    assert model.validation_scores_ == [
        row["valid_neg_log_loss"] for row in model.history_
    ]
    assert model.best_validation_score_ <= 0


def test_regressor_scores_and_no_metric(diabetes):
    X, y = diabetes
    model = _fit(Regressor(max_epochs=3, validation_fraction=0.2, random_state=0), X, y)
    # No metric recorded: only a validation loss.
    assert model.validation_scores_ is None
    assert model.best_validation_score_ is None
    assert model.best_loss_ is None
    model = _fit(Regressor(max_epochs=3, validation_fraction=0.2, metrics=["r2"]), X, y)
    assert model.validation_scores_ == [row["valid_r2"] for row in model.history_]


def test_warm_start_and_partial_fit_continue_the_counts(small_iris):
    X, y = small_iris
    model = _fit(Classifier(max_epochs=2, warm_start=True, random_state=0), X, y)
    _fit(model, X, y)
    assert model.n_iter_ == 4 == len(model.loss_curve_)
    model.partial_fit(X, y)
    assert model.n_iter_ == 5
    # A fresh fit starts over.
    refit = _fit(clone(model).set_params(warm_start=False), X, y)
    assert refit.n_iter_ == 2


def test_validation_scores_nan_for_epochs_without_validation(small_iris):
    X, y = small_iris
    model = _fit(
        Classifier(max_epochs=2, validation_fraction=0.2, random_state=0), X, y
    )
    model.partial_fit(X, y)  # one epoch, no validation pass
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_
    if "valid_accuracy" not in model.history_[-1]:
        assert math.isnan(scores[-1])
        assert model.best_validation_score_ == max(scores[:-1])


@pytest.mark.parametrize("Estimator", [Classifier, BinaryClassifier])
def test_predict_log_proba(Estimator, cancer):
    X, y = cancer
    model = _fit(Estimator(max_epochs=3, random_state=0), X, y)
    proba = model.predict_proba(X)
    log_proba = model.predict_log_proba(X)
    assert log_proba.shape == proba.shape
    np.testing.assert_allclose(log_proba, np.log(proba))
    np.testing.assert_array_equal(log_proba.argmax(axis=1), proba.argmax(axis=1))


def test_predict_log_proba_of_a_zero_probability_is_minus_inf():
    class Fixed(NNClassifier):
        def predict_proba(self, X):
            return np.array([[0.0, 1.0], [0.25, 0.75]])

    log_proba = Fixed().predict_log_proba(None)
    assert log_proba[0, 0] == -np.inf
    np.testing.assert_allclose(log_proba[1], np.log([0.25, 0.75]))


def test_regressors_have_no_predict_log_proba():
    assert not hasattr(Regressor(), "predict_log_proba")
