"""Grid, random, successive-halving and Optuna searches over an MLP.

Mirrors seed lesson 002's hyper-parameter tuning section (grid search,
random search, Bayesian optimisation with Optuna) and seed lesson 000's
architecture and hyper-parameter tuning challenge. The estimators are
scikit-learn estimators, so scikit-learn's searches tune them as they are:
``GridSearchCV`` tries every combination, ``RandomizedSearchCV`` samples the
learning rate on a log scale, ``HalvingRandomSearchCV`` gives many candidates
a few epochs and only the best ones more, and Optuna's ``OptunaSearchCV``
(the ``optuna`` extra) picks each trial from the previous ones and prunes
trials that fall behind, one epoch (one ``partial_fit``) at a time.

Usage::

    python examples/hyperparameter_search.py

``NNESTIMATORS_QUICK=1`` shrinks the data, epochs and trials to a smoke test.
"""

import argparse
import importlib.util
import os
import warnings
from pathlib import Path

from scipy.stats import loguniform, uniform
from sklearn.datasets import make_classification
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnestimators import NNBinaryClassifier

QUICK = os.environ.get("NNESTIMATORS_QUICK") == "1"
N_SAMPLES = 200 if QUICK else 800
EPOCHS = 2 if QUICK else 25
N_CANDIDATES = 2 if QUICK else 6
CV = 3
SEED = 42


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Accepted like the other examples' option; this one draws no figures.
    parser.add_argument("--out", type=Path, help="unused: no figures here")
    return parser.parse_args()


def make_data():
    X, y = make_classification(
        n_samples=N_SAMPLES, n_features=20, n_informative=5, random_state=SEED
    )
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=SEED)


def mlp(**params):
    return NNBinaryClassifier(max_epochs=EPOCHS, random_state=SEED, **params)


def scaled_mlp():
    # In a pipeline the scaler is refitted on each fold's training rows.
    return make_pipeline(StandardScaler(), mlp())


def show(name, search, test_accuracy):
    # "nnbinaryclassifier__module__dropout" reads better as "module__dropout".
    params = ", ".join(
        f"{key.removeprefix('nnbinaryclassifier__')}={_short(value)}"
        for key, value in search.best_params_.items()
    )
    print(name)
    print(f"  best parameters  {params}")
    print(f"  CV accuracy      {search.best_score_:.4f}")
    print(f"  test accuracy    {test_accuracy:.4f}")


def _short(value):
    return f"{value:.3g}" if isinstance(value, float) else repr(value)


def grid_search(X_train, y_train):
    grid = {
        "nnbinaryclassifier__lr": [1e-3, 1e-2],
        "nnbinaryclassifier__module__hidden_units": [(16,), (64,)],
    }
    return GridSearchCV(scaled_mlp(), grid, cv=CV).fit(X_train, y_train)


def random_search(X_train, y_train):
    distributions = {
        "nnbinaryclassifier__lr": loguniform(1e-4, 1e-1),
        "nnbinaryclassifier__module__dropout": uniform(0.0, 0.5),
    }
    search = RandomizedSearchCV(
        scaled_mlp(), distributions, n_iter=N_CANDIDATES, cv=CV, random_state=SEED
    )
    return search.fit(X_train, y_train)


def halving_search(X_train, y_train):
    """Epochs as the budget: rounds of 1/2 the candidates with 2x the epochs.

    ``max_resources`` must be an int here ("auto" only means "all samples"),
    and the winner is refitted with the epochs of the last round.
    """
    search = HalvingRandomSearchCV(
        scaled_mlp(),
        {"nnbinaryclassifier__lr": loguniform(1e-4, 1e-1)},
        n_candidates=N_CANDIDATES,
        resource="nnbinaryclassifier__max_epochs",
        min_resources=max(1, EPOCHS // 4),
        max_resources=EPOCHS,
        factor=2,
        cv=CV,
        random_state=SEED,
    )
    return search.fit(X_train, y_train)


def optuna_search(X_train, y_train):
    """Tree-structured Parzen sampling with median pruning, epoch by epoch.

    Pruning trains through ``partial_fit``, which a Pipeline lacks, so the
    inputs are scaled beforehand (on the training split only). ``max_iter``
    epochs per trial matches ``max_epochs``, which the final refit uses.
    """
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna_integration import OptunaSearchCV

    # Optuna's own warnings, as in docs/guide/searches.md: OptunaSearchCV is
    # marked experimental (one warning per search) and reports each trial's
    # scores through the deprecated optuna.terminator (one per trial).
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings(
        "ignore",
        "OptunaSearchCV is experimental",
        optuna.exceptions.ExperimentalWarning,
    )
    warnings.filterwarnings("ignore", "`optuna.terminator`", FutureWarning)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=SEED),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
    )
    search = OptunaSearchCV(
        mlp(),
        {
            "lr": FloatDistribution(1e-4, 1e-1, log=True),
            "module__hidden_units": IntDistribution(8, 128, log=True),
        },
        cv=CV,
        n_trials=N_CANDIDATES + 4,
        enable_pruning=True,
        max_iter=EPOCHS,
        study=study,
        random_state=SEED,
        error_score="raise",  # the default, nan, would hide a failing trial
    )
    scaler = StandardScaler().fit(X_train)
    search.fit(scaler.transform(X_train), y_train)
    return make_pipeline(scaler, search), search


def main():
    parse_args()
    X_train, X_test, y_train, y_test = make_data()
    searches = {
        "GridSearchCV": grid_search,
        "RandomizedSearchCV": random_search,
        "HalvingRandomSearchCV over epochs": halving_search,
    }
    for name, run_search in searches.items():
        search = run_search(X_train, y_train)
        show(name, search, search.score(X_test, y_test))

    if importlib.util.find_spec("optuna_integration") is None:
        print("OptunaSearchCV skipped: pip install 'nnestimators[optuna]'.")
        return
    model, search = optuna_search(X_train, y_train)
    show("OptunaSearchCV with pruning", search, model.score(X_test, y_test))
    pruned = sum(trial.state.name == "PRUNED" for trial in search.trials_)
    print(f"  trials           {len(search.trials_)}, {pruned} pruned early")


if __name__ == "__main__":
    main()
