"""Hyper-parameter search and post-hoc tuning recipes, run for real.

Each test is a recipe from the docs: scikit-learn's searches over a Pipeline,
successive halving over ``max_epochs``, Optuna's ``OptunaSearchCV`` with and
without pruning through ``partial_fit``, threshold tuning and probability
calibration. Data are small and epochs few, so the whole file runs in
seconds on one thread.
"""

import fit_settings
import numpy as np
import pytest
import torch
from scipy.stats import loguniform
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_iris, make_classification
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import brier_score_loss, get_scorer
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    TunedThresholdClassifierCV,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnestimators import NNBinaryClassifier, NNClassifier

# Ten epochs: searches must tell candidates apart, pruning needs steps to cut.
FAST = {**fit_settings.FAST, "max_epochs": 10}
CV = 3
LR_LOW, LR_HIGH = 1e-4, 1e-1
CHANCE_IRIS = 1 / 3

# Optuna's own notices (OptunaSearchCV is experimental, it reports through the
# deprecated optuna.terminator) say nothing about nnestimators.
optuna_warnings = pytest.mark.filterwarnings(
    "ignore:OptunaSearchCV is experimental",
    "ignore:`optuna.terminator`:FutureWarning",
)


@pytest.fixture(scope="module")
def raw_iris():
    # Unscaled on purpose: the pipelines scale inside each fold.
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def imbalanced():
    """A 9:1 binary problem split into train and held-out test halves."""
    X, y = make_classification(
        n_samples=600,
        n_features=10,
        n_informative=4,
        weights=[0.9, 0.1],
        flip_y=0.05,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return train_test_split(X, y, test_size=0.4, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def optuna_cv():
    """(optuna, OptunaSearchCV), or skip when the optuna extra is missing."""
    optuna = pytest.importorskip("optuna")
    integration = pytest.importorskip("optuna_integration")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna, integration.OptunaSearchCV


def _scaled_classifier(**params):
    return make_pipeline(StandardScaler(), NNClassifier(**{**FAST, **params}))


def _binary(**params):
    return NNBinaryClassifier(module__hidden_units=(16,), **{**FAST, **params})


def _first_linear(module):
    return next(m for m in module.modules() if isinstance(m, torch.nn.Linear))


# -- scikit-learn searches ---------------------------------------------------


def test_grid_search_over_pipeline_picks_a_grid_point(raw_iris):
    X, y = raw_iris
    grid = {
        "nnclassifier__lr": [1e-3, 3e-2],
        "nnclassifier__module__hidden_units": [(8,), (32,)],
    }
    search = GridSearchCV(_scaled_classifier(), grid, cv=CV).fit(X, y)

    assert search.best_params_["nnclassifier__lr"] in grid["nnclassifier__lr"]
    assert (
        search.best_params_["nnclassifier__module__hidden_units"]
        in grid["nnclassifier__module__hidden_units"]
    )
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all()
    assert search.best_score_ > CHANCE_IRIS + 0.3
    # The refitted network really has the chosen width.
    width = search.best_params_["nnclassifier__module__hidden_units"][0]
    assert _first_linear(search.best_estimator_[-1].module_).out_features == width


def test_randomized_search_samples_log_uniform_learning_rates(raw_iris):
    X, y = raw_iris
    search = RandomizedSearchCV(
        _scaled_classifier(),
        {"nnclassifier__lr": loguniform(LR_LOW, LR_HIGH)},
        n_iter=4,
        cv=CV,
        random_state=0,
    ).fit(X, y)

    sampled = np.array([p["nnclassifier__lr"] for p in search.cv_results_["params"]])
    assert ((sampled >= LR_LOW) & (sampled <= LR_HIGH)).all()
    assert len(np.unique(sampled)) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > CHANCE_IRIS
    best_lr = search.best_params_["nnclassifier__lr"]
    assert search.best_estimator_[-1].optimizer_.param_groups[0]["lr"] == best_lr


@pytest.mark.parametrize("in_pipeline", [False, True], ids=["bare", "pipeline"])
def test_successive_halving_spends_epochs_as_the_resource(raw_iris, in_pipeline):
    X, y = raw_iris
    if in_pipeline:
        estimator, prefix = _scaled_classifier(), "nnclassifier__"
    else:
        X = StandardScaler().fit_transform(X)
        estimator, prefix = NNClassifier(**FAST), ""
    search = HalvingRandomSearchCV(
        estimator,
        {f"{prefix}lr": loguniform(LR_LOW, LR_HIGH)},
        n_candidates=6,
        resource=f"{prefix}max_epochs",
        min_resources=3,
        max_resources=12,
        factor=2,
        cv=CV,
        random_state=0,
    ).fit(X, y)

    assert search.n_resources_ == [3, 6, 12]
    assert search.n_candidates_ == [6, 3, 2]
    # Each candidate trained for exactly the epochs its round gave it.
    for params, n_epochs in zip(
        search.cv_results_["params"], search.cv_results_["n_resources"]
    ):
        assert params[f"{prefix}max_epochs"] == n_epochs
    best = search.best_estimator_[-1] if in_pipeline else search.best_estimator_
    assert len(best.history_) == search.best_params_[f"{prefix}max_epochs"] == 12
    assert search.best_score_ > CHANCE_IRIS


# -- Optuna ------------------------------------------------------------------


@optuna_warnings
def test_optuna_search_finds_a_learning_rate_in_range(optuna_cv, raw_iris):
    optuna, OptunaSearchCV = optuna_cv
    X, y = raw_iris
    search = OptunaSearchCV(
        _scaled_classifier(),
        {
            "nnclassifier__lr": optuna.distributions.FloatDistribution(
                LR_LOW, LR_HIGH, log=True
            )
        },
        cv=CV,
        n_trials=4,
        random_state=0,
        error_score="raise",  # the default (nan) hides estimator errors
    ).fit(X, y)

    assert LR_LOW <= search.best_params_["nnclassifier__lr"] <= LR_HIGH
    assert search.n_trials_ == 4
    assert np.isfinite([t.value for t in search.trials_]).all()
    assert search.best_score_ > CHANCE_IRIS
    assert search.score(X, y) > CHANCE_IRIS


@optuna_warnings
@pytest.mark.slow
def test_optuna_pruning_trains_one_epoch_per_step(optuna_cv, raw_iris):
    optuna, OptunaSearchCV = optuna_cv
    X, y = raw_iris
    # Pruning calls partial_fit, which a Pipeline lacks: scale beforehand.
    X = StandardScaler().fit_transform(X)
    max_iter = FAST["max_epochs"]
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    search = OptunaSearchCV(
        NNClassifier(**FAST),
        {"lr": optuna.distributions.FloatDistribution(LR_LOW, LR_HIGH, log=True)},
        cv=CV,
        n_trials=8,
        enable_pruning=True,
        max_iter=max_iter,
        study=study,
        random_state=0,
        error_score="raise",
    ).fit(X, y)

    states = optuna.trial.TrialState
    pruned = [t for t in search.trials_ if t.state == states.PRUNED]
    complete = [t for t in search.trials_ if t.state == states.COMPLETE]
    assert pruned and complete
    # One reported step per partial_fit call, i.e. per epoch. A trial is pruned
    # after the step it reports, at the latest after the last one; the clearly
    # worse trials stop early (after 2 of 10 steps here, whatever the seed).
    assert all(len(t.intermediate_values) == max_iter for t in complete)
    assert all(1 <= len(t.intermediate_values) <= max_iter for t in pruned)
    assert min(len(t.intermediate_values) for t in pruned) < max_iter
    assert search.best_score_ > CHANCE_IRIS + 0.3
    # The refit uses fit(), whose max_epochs matches the pruned budget.
    assert len(search.best_estimator_.history_) == max_iter


def test_partial_fit_takes_the_classes_optuna_passes(raw_iris):
    X, y = raw_iris
    X = StandardScaler().fit_transform(X)
    first = y < 2  # the first call sees two of the three classes
    model = NNClassifier(**FAST)
    model.partial_fit(X[first], y[first], classes=np.unique(y))
    model.partial_fit(X, y, classes=np.unique(y))

    assert list(model.classes_) == [0, 1, 2]
    assert len(model.history_) == 2
    assert model.predict_proba(X).shape == (len(X), 3)


# -- threshold tuning and calibration ----------------------------------------

# Held-out comparisons need a network that learned what the noisy 9:1 data
# allow: after ten epochs at the default lr=1e-3 it had barely left the prior,
# and whether tuning or calibration paid on held-out rows depended on the seed.
TRAINED = {"max_epochs": 30, "lr": 1e-2}


@pytest.mark.slow
def test_tuned_threshold_beats_the_default_on_held_out_data(imbalanced):
    X_train, X_test, y_train, y_test = imbalanced
    untuned = _binary(**TRAINED).fit(X_train, y_train)
    tuned = TunedThresholdClassifierCV(
        _binary(**TRAINED), scoring="balanced_accuracy", cv=CV, random_state=0
    ).fit(X_train, y_train)

    # 0.5 ignores the 9:1 prior, balanced accuracy weighs the rare class up:
    # the tuned threshold drops (0.11 to 0.41 below 0.5 over 20 seeds) and
    # gains on held-out data (0.035 to 0.20 over 20 seeds).
    assert 0.0 < tuned.best_threshold_ < untuned.threshold - 0.05
    score = get_scorer("balanced_accuracy")
    assert score(tuned, X_test, y_test) >= score(untuned, X_test, y_test)


@pytest.mark.slow
def test_f1_tuned_threshold_moves_toward_the_rare_class(imbalanced):
    X_train, _, y_train, _ = imbalanced
    tuned = TunedThresholdClassifierCV(
        _binary(**TRAINED), scoring="f1", cv=CV, random_state=0
    ).fit(X_train, y_train)

    # F1 of the rare class calls for a lower threshold too (0.11 to 0.36 below
    # 0.5 over 20 seeds). Its gain on 24 held-out positives is not guaranteed
    # (-0.002 to +0.21 over 20 seeds), so it is not asserted.
    assert 0.0 < tuned.best_threshold_ < 0.5 - 0.05


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibrated_classifier_cv_gives_valid_probabilities(imbalanced, method):
    X_train, X_test, y_train, y_test = imbalanced
    calibrated = CalibratedClassifierCV(_binary(**TRAINED), method=method, cv=CV)
    calibrated.fit(X_train, y_train)

    proba = calibrated.predict_proba(X_test)
    assert len(calibrated.calibrated_classifiers_) == CV
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Informative probabilities: better than the constant prevalence forecast
    # (Brier 0.067 to 0.081 against 0.106 over 20 seeds), and no worse than
    # always answering the majority class, give or take five rows.
    prevalence = np.full(len(y_test), np.mean(y_train))
    brier = brier_score_loss(y_test, proba[:, 1])
    assert brier < brier_score_loss(y_test, prevalence)
    assert calibrated.score(X_test, y_test) >= np.mean(y_test == 0) - 0.02


@pytest.mark.slow
def test_prefit_calibration_on_a_held_out_set(imbalanced):
    X_train, X_test, y_train, y_test = imbalanced
    X_fit, X_calib, y_fit, y_calib = train_test_split(
        X_train, y_train, test_size=0.5, stratify=y_train, random_state=0
    )
    model = _binary(**TRAINED).fit(X_fit, y_fit)
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="sigmoid")
    calibrated.fit(X_calib, y_calib)

    # The frozen network is not refitted: its weights are the ones trained above.
    assert len(calibrated.calibrated_classifiers_[0].estimator.history_) == len(
        model.history_
    )
    proba = calibrated.predict_proba(X_test)[:, 1]
    prevalence = np.full(len(y_test), np.mean(y_train))
    assert np.isfinite(proba).all()
    assert brier_score_loss(y_test, proba) < brier_score_loss(y_test, prevalence)
