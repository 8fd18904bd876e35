"""Checkpoints of the drop-ins: written by ``net_``, loaded back as the drop-in."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from nnestimators import MLPClassifier, MLPRegressor, NNClassifier
from nnestimators.checkpoints import CheckpointError


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_classifier_comes_back_with_its_labels_weights_and_state(
    iris, tmp_path, solver
):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    model = MLPClassifier(
        (6,), solver=solver, max_iter=8, random_state=0, checkpoint_dir=tmp_path
    )
    _fit(model, X, labels)
    loaded = MLPClassifier.from_checkpoint(model.checkpoint_path_)
    assert list(loaded.classes_) == list(model.classes_)
    assert loaded.get_params()["checkpoint_dir"] is None  # never restored
    assert {k: v for k, v in loaded.get_params().items() if k != "checkpoint_dir"} == {
        k: v for k, v in model.get_params().items() if k != "checkpoint_dir"
    }
    # The best epoch: the last one here (the loss still falls at 8 epochs).
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.n_iter_ == model.n_iter_ and loaded.t_ == model.t_
    if solver == "adam":
        assert loaded.loss_curve_ == model.loss_curve_
        loaded.partial_fit(X, labels)  # the solver's state came back too
        assert loaded.n_iter_ == 1 and len(loaded.loss_curve_) == 9


def test_a_poisson_regressor_comes_back(diabetes, tmp_path):
    X, y = diabetes
    counts = np.round(np.exp(y))
    model = _fit(
        MLPRegressor(
            "poisson", (6,), max_iter=5, random_state=0, checkpoint_dir=tmp_path
        ),
        X,
        counts,
    )
    loaded = MLPRegressor.from_checkpoint(tmp_path)
    assert loaded.out_activation_ == "exp"
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))


def test_another_estimators_checkpoint_is_refused(iris, tmp_path):
    X, y = iris
    NNClassifier(max_epochs=1, checkpoint_dir=tmp_path, monitor="train_loss").fit(X, y)
    with pytest.raises(CheckpointError, match="load it with NNClassifier.from_che"):
        MLPClassifier.from_checkpoint(tmp_path)


def test_with_early_stopping_the_checkpoint_is_the_restored_best_epoch(iris, tmp_path):
    X, y = iris
    model = MLPClassifier(
        (6,),
        early_stopping=True,
        n_iter_no_change=3,
        learning_rate_init=0.01,
        random_state=0,
        checkpoint_dir=tmp_path,
    )
    _fit(model, X, y)
    loaded = MLPClassifier.from_checkpoint(model.checkpoint_path_)
    # MLP keeps the weights of the best validation score; so does the folder.
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
    best = int(np.argmax(model.validation_scores_)) + 1
    assert loaded.n_iter_ == best
    assert loaded.best_validation_score_ == model.best_validation_score_
