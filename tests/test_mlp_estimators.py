"""The drop-ins against scikit-learn's MLP: same data, seeds and settings.

With the batch order fixed (``shuffle=False`` or one batch per epoch) the
drop-ins make MLP's own computation in float64: short runs are compared to
scikit-learn's to 1e-6, far above rounding and far below any real
difference (a wrong penalty scale or update rule moves weights by 1e-3 or
more). Longer runs are not compared this way: rounding grows with epochs.
"""

import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from nnestimators import MLPClassifier, MLPRegressor

CLOSE = {"atol": 1e-6, "rtol": 0}


@pytest.fixture(scope="module")
def iris64():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _quiet_fit(estimator, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


def _pair(settings, X, y, **kwargs):
    ours = _quiet_fit(MLPClassifier(**settings), X, y, **kwargs)
    theirs = _quiet_fit(sk.MLPClassifier(**settings), X, y, **kwargs)
    return ours, theirs


def _assert_same_weights(ours, theirs):
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, **CLOSE)


@pytest.mark.parametrize(
    "settings",
    [
        {"solver": "adam", "alpha": 1e-2},
        {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.5},
        {"solver": "sgd", "nesterovs_momentum": False, "momentum": 0.5},
        {"solver": "sgd", "momentum": 0.0, "activation": "logistic"},
        {"solver": "adam", "activation": "tanh", "batch_size": 64},
    ],
)
def test_unshuffled_training_makes_mlps_updates(iris64, settings):
    X, y = iris64
    settings = {
        "hidden_layer_sizes": (6,),
        "max_iter": 5,
        "shuffle": False,
        "random_state": 0,
        **settings,
    }
    ours, theirs = _pair(settings, X, y)
    _assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **CLOSE)
    assert (ours.n_iter_, ours.t_) == (theirs.n_iter_, theirs.t_)


def test_alpha_is_mlps_per_batch_penalty_with_weights_and_a_short_last_batch(iris64):
    X, y = iris64
    weights = np.random.RandomState(0).uniform(0.5, 2, len(y))
    settings = {
        "hidden_layer_sizes": (6,),
        "alpha": 0.5,
        "batch_size": 40,  # 150 rows: the last batch has 30
        "max_iter": 3,
        "shuffle": False,
        "random_state": 0,
    }
    ours, theirs = _pair(settings, X, y, sample_weight=weights)
    # Sample weights reach the loss in float32 (the package's): 1e-5, not 1e-6.
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-4)


def test_lbfgs_follows_mlps_first_iterations(iris64):
    X, y = iris64
    settings = {"solver": "lbfgs", "hidden_layer_sizes": (6,), "max_iter": 3}
    ours, theirs = _pair({**settings, "random_state": 0}, X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 3
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    assert not hasattr(ours, "loss_curve_") and ours.t_ == 0


def test_early_stopping_makes_mlps_split_scores_and_stop(iris64):
    X, y = iris64
    settings = {
        "hidden_layer_sizes": (6,),
        "early_stopping": True,
        "n_iter_no_change": 2,
        # batch_size "auto" is one batch per epoch here: the order is MLP's.
        "learning_rate_init": 0.01,
        "random_state": 1,
    }
    ours, theirs = _pair(settings, X, y)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert ours.best_loss_ is None
    _assert_same_weights(ours, theirs)  # the best epoch's, restored


def test_fitted_attributes_have_mlps_types_and_shapes(iris64):
    X, y = iris64
    model = _quiet_fit(MLPClassifier((5, 4), max_iter=3, random_state=0), X, y)
    assert [c.shape for c in model.coefs_] == [(4, 5), (5, 4), (4, 3)]
    assert [b.shape for b in model.intercepts_] == [(5,), (4,), (3,)]
    assert (model.n_layers_, model.n_outputs_, model.out_activation_) == (
        4,
        3,
        "softmax",
    )
    assert isinstance(model.loss_curve_, list) and len(model.loss_curve_) == 3
    assert model.n_features_in_ == 4 and model.t_ == 3 * len(y)
    assert model.coefs_[0].dtype == np.float64
    X32 = X.astype(np.float32)
    model32 = _quiet_fit(MLPRegressor(max_iter=2, random_state=0), X32, y * 1.0)
    assert model32.coefs_[0].dtype == np.float32
    assert model32.predict(X32).dtype == np.float32
    classifier32 = _quiet_fit(MLPClassifier(max_iter=2, random_state=0), X32, y)
    assert classifier32.predict_proba(X32).dtype == np.float32


def test_binary_uses_one_logistic_unit_and_two_probability_columns(iris64):
    X, y = iris64
    labels = np.where(y == 0, "yes", "no")
    model = _quiet_fit(MLPClassifier((4,), max_iter=20, random_state=0), X, labels)
    assert model.n_outputs_ == 1 and model.out_activation_ == "logistic"
    proba = model.predict_proba(X[:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(model.predict_log_proba(X[:5]), np.log(proba))
    assert set(model.predict(X)) <= {"yes", "no"}


def test_multilabel_gets_a_logistic_unit_per_label():
    X, Y = make_multilabel_classification(n_samples=60, n_classes=3, random_state=0)
    model = _quiet_fit(MLPClassifier((8,), max_iter=5, random_state=0), X, Y)
    assert model.n_outputs_ == 3 and model.out_activation_ == "logistic"
    assert model.predict(X).shape == Y.shape
    assert model.predict_proba(X).shape == Y.shape


def test_mlps_warnings_and_errors(iris64):
    X, y = iris64
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\)"):
        MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((4,), solver="lbfgs", max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(InvalidParameterError, match="'solver' parameter"):
        MLPClassifier(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPClassifier(hidden_layer_sizes=(4, 0)).fit(X, y)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_warm_start_continues_with_a_fresh_solver_and_partial_fit_keeps_it(iris64):
    X, y = iris64
    settings = {"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0}
    model = _quiet_fit(MLPClassifier(warm_start=True, **settings), X, y)
    first = model.net_
    _quiet_fit(model, X, y)
    assert model.net_ is not first and model.n_iter_ == 3
    assert len(model.loss_curve_) == 6 and model.t_ == 6 * len(y)
    stepped = model.net_
    model.partial_fit(X, y)
    assert model.net_ is stepped and model.n_iter_ == 1 and len(model.loss_curve_) == 7


def test_verbose_prints_mlps_lines(iris64, capsys):
    X, y = iris64
    _quiet_fit(MLPClassifier((4,), max_iter=2, verbose=True, random_state=0), X, y)
    assert capsys.readouterr().out.startswith("Iteration 1, loss = ")


def test_parameters_are_mlps_plus_three_keyword_only_extras():
    ours, theirs = MLPRegressor().get_params(), sk.MLPRegressor().get_params()
    extras = {"device": "cpu", "n_threads": "auto", "checkpoint_dir": None}
    assert ours == {**theirs, **extras}
    assert MLPClassifier().get_params() == {**sk.MLPClassifier().get_params(), **extras}
    with pytest.raises(TypeError):
        MLPClassifier((10,), "relu", "adam")  # solver is keyword-only, as in MLP


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_equal_sample_weights_scale_the_penalty_as_mlps(iris64, solver):
    # MLP divides alpha by the weight sum: weights of 2 halve the penalty.
    X, y = iris64
    settings = {"solver": solver, "alpha": 1.0, "max_iter": 5, "random_state": 0}
    weights = np.full(len(y), 2.0)
    ours, theirs = _pair(settings, X, y, sample_weight=weights)
    unweighted = _quiet_fit(MLPClassifier(**settings), X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    assert ours.loss_ < unweighted.loss_ - 1e-3


def test_binary_lbfgs_loss_is_computed_in_float64(iris64):
    X, y = iris64
    settings = {"solver": "lbfgs", "alpha": 1.0, "max_iter": 1, "random_state": 1}
    ours, theirs = _pair(settings, X, y == 0)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12)
    proba = ours.predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, theirs.predict_proba(X), rtol=1e-12)


def test_warm_start_with_other_hidden_layers_is_a_clear_error(iris64):
    X, y = iris64
    mlp = _quiet_fit(MLPClassifier(max_iter=2, warm_start=True, random_state=0), X, y)
    mlp.set_params(hidden_layer_sizes=(7,))
    with pytest.raises(
        ValueError, match=r"hidden_layer_sizes=\(7,\).*warm_start=False"
    ):
        mlp.fit(X, y)


def test_assigned_weights_predict_as_in_mlp(iris64):
    X, y = iris64
    mlp = _quiet_fit(MLPClassifier(max_iter=5, random_state=0), X, y)
    mlp.coefs_ = [np.zeros_like(c) for c in mlp.coefs_]
    mlp.intercepts_ = [np.zeros_like(b) for b in mlp.intercepts_]
    np.testing.assert_allclose(mlp.predict_proba(X[:3]), 1 / 3)
    mlp.intercepts_[-1][0] = 5.0  # an edit in place counts too
    assert (mlp.predict(X[:3]) == 0).all()
    mlp.coefs_ = mlp.coefs_[:1]
    with pytest.raises(ValueError, match="fitted network's shapes"):
        mlp.predict(X[:1])
