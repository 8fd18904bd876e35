"""scikit-learn's MLP gallery examples with the drop-ins: the same scores.

Each case fits scikit-learn's MLP and the drop-in on the same data, split
and seed, and asks the scores to agree within a few points. They agree to
about 0.003 (only the batch order differs: torch draws it); the margins are
wide so that rounding on another CPU cannot matter, and no case sits near a
divergence. Slow tier: each example trains to convergence.
"""

import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from sklearn.datasets import (
    load_digits,
    make_circles,
    make_classification,
    make_friedman1,
    make_moons,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import nnestimators as nn

pytestmark = pytest.mark.slow
MARGIN = 0.05


def _linearly_separable():
    X, y = make_classification(
        n_features=2, n_redundant=0, random_state=1, n_clusters_per_class=1
    )
    return X + 2 * np.random.RandomState(2).uniform(size=X.shape), y


TWO_D = {
    "moons": lambda: make_moons(noise=0.3, random_state=0),
    "circles": lambda: make_circles(noise=0.2, factor=0.5, random_state=1),
    "linearly separable": _linearly_separable,
}


def _scores(make, X_train, y_train, X_test, y_test):
    scores = []
    for module in (sk, nn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = make(module).fit(X_train, y_train)
        scores.append(model.score(X_test, y_test))
    return scores


@pytest.mark.parametrize("name", list(TWO_D))
def test_classifier_comparison(name):
    X, y = TWO_D[name]()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, random_state=42
    )
    theirs, ours = _scores(
        lambda M: make_pipeline(
            StandardScaler(), M.MLPClassifier(alpha=1, max_iter=1000, random_state=42)
        ),
        X_train,
        y_train,
        X_test,
        y_test,
    )
    assert ours == pytest.approx(theirs, abs=MARGIN)


@pytest.mark.parametrize("alpha", [0.1, 10.0])
@pytest.mark.parametrize("name", list(TWO_D))
def test_mlp_alpha_with_lbfgs(name, alpha):
    X, y = TWO_D[name]()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, random_state=42
    )
    theirs, ours = _scores(
        lambda M: make_pipeline(
            StandardScaler(),
            M.MLPClassifier(
                solver="lbfgs",
                alpha=alpha,
                random_state=1,
                max_iter=2000,
                early_stopping=True,
                hidden_layer_sizes=[10, 10],
            ),
        ),
        X_train,
        y_train,
        X_test,
        y_test,
    )
    # lbfgs may take another path once rounding changes a line search: an
    # equally good minimum, not the same one; 0.1 is still far below chance's gap.
    assert ours == pytest.approx(theirs, abs=0.1)


@pytest.mark.parametrize(
    "settings",
    [
        {"solver": "sgd", "momentum": 0, "learning_rate_init": 0.2},
        {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": False},
        {"solver": "sgd", "learning_rate": "invscaling", "momentum": 0.9},
        {"solver": "adam", "learning_rate_init": 0.01},
    ],
    ids=["constant", "momentum", "invscaling-nesterov", "adam"],
)
def test_training_curves_on_digits(settings):
    X, y = load_digits(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    settings = {"learning_rate_init": 0.2, **settings}
    theirs, ours = _scores(
        lambda M: M.MLPClassifier(random_state=0, max_iter=15, **settings), X, y, X, y
    )
    assert ours == pytest.approx(theirs, abs=MARGIN)


def test_training_curves_loss_follows_mlps_on_moons():
    X, y = make_moons(noise=0.3, random_state=0)
    X = MinMaxScaler().fit_transform(X)
    curves = []
    for module in (sk, nn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = module.MLPClassifier(
                solver="sgd", momentum=0.9, learning_rate_init=0.2, random_state=0
            ).fit(X, y)
        curves.append(model.loss_curve_)
    # 100 rows: one batch per epoch, the same order: the same curve.
    assert len(curves[0]) == len(curves[1])
    np.testing.assert_allclose(curves[1], curves[0], atol=1e-3)


def test_digits_filters():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    theirs, ours = _scores(
        lambda M: M.MLPClassifier(
            hidden_layer_sizes=(40,),
            max_iter=8,
            alpha=1e-4,
            solver="sgd",
            random_state=1,
            learning_rate_init=0.2,
        ),
        X[:1500],
        y[:1500],
        X[1500:],
        y[1500:],
    )
    assert ours == pytest.approx(theirs, abs=MARGIN)


def test_early_stopping_regressor():
    X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    theirs, ours = _scores(
        lambda M: make_pipeline(
            StandardScaler(),
            M.MLPRegressor(
                hidden_layer_sizes=(50,),
                early_stopping=True,
                max_iter=500,
                random_state=0,
            ),
        ),
        X_train,
        y_train,
        X_test,
        y_test,
    )
    assert ours == pytest.approx(theirs, abs=MARGIN)
