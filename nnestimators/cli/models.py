"""The estimator the command fits: preprocessing, network preset and search."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .. import NNBinaryClassifier, NNClassifier, NNRegressor

# Hidden layers of the --model presets; "linear" has none, so the network is
# a logistic (or linear) regression trained by gradient descent.
MODEL_PRESETS = {
    "mlp": (64,),
    "linear": (),
    "wide": (256, 128),
}

# Metrics recorded per epoch by the estimators the command builds.
EPOCH_METRICS = {
    "binary": ["accuracy", "roc_auc"],
    "multiclass": ["accuracy"],
    "regression": ["r2"],
}

# What the hyper-parameter search optimises.
SEARCH_SCORING = {
    "binary": "roc_auc",
    "multiclass": "accuracy",
    "regression": "neg_root_mean_squared_error",
}
SEARCH_GRID = {
    "lr": [1e-3, 3e-3, 1e-2],
    "module__hidden_units": [(64,), (128, 64)],
}
RANDOM_SEARCH_ITERATIONS = 6
RANDOM_LR_RANGE = (1e-4, 3e-2)
RANDOM_HIDDEN_UNITS = [(64,), (128, 64), (256, 128)]
INNER_FOLDS = 3

# The share of each training part a network holds out for early stopping,
# and the epochs without improvement it waits before stopping.
VALIDATION_FRACTION = 0.1
PATIENCE = 10

# One-hot columns per text column: the most frequent values, the rest share
# one "infrequent" column, so the encoded width stays bounded.
MAX_CATEGORIES = 50


def build_model(task, X, args):
    """The preprocessing and network pipeline, inside a search if asked.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        The task.
    X : pandas.DataFrame
        The features, to pick numeric and categorical columns.
    args : argparse.Namespace
        Options ``model``, ``max_epochs``, ``seed``, ``search`` and
        ``threads`` (optional).

    Returns
    -------
    model : Pipeline or search estimator
    """
    from sklearn.pipeline import Pipeline

    network = make_network(
        task,
        args.model,
        args.max_epochs,
        args.seed,
        n_threads=getattr(args, "threads", None),
    )
    model = Pipeline([("preprocess", make_preprocessor(X)), ("model", network)])
    if args.search == "none":
        return model
    return make_search(model, task, args.search, args.seed)


def make_preprocessor(X):
    """Impute and scale numeric columns, impute and one-hot encode the rest.

    Each text column has at most ``MAX_CATEGORIES`` one-hot columns: its
    most frequent values and one column for all the others (and for values
    unseen in training).

    Parameters
    ----------
    X : pandas.DataFrame
        The features.

    Returns
    -------
    preprocessor : sklearn.compose.ColumnTransformer
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = numeric_columns(X)
    categorical = [column for column in X.columns if column not in numeric]
    transformers = []
    if numeric:
        scale = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        transformers.append(("numeric", scale, numeric))
    if categorical:
        encode = make_pipeline(
            # Mixed or boolean values become text so the encoder can sort them.
            FunctionTransformer(_as_text_categories, feature_names_out="one-to-one"),
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=MAX_CATEGORIES,
                sparse_output=False,
                dtype=np.float32,
            ),
        )
        transformers.append(("categorical", encode, categorical))
    return ColumnTransformer(transformers)


def numeric_columns(X):
    """The columns of ``X`` that are numbers (booleans are categories)."""
    return [
        column
        for column in X.columns
        if is_numeric_dtype(X[column]) and not is_bool_dtype(X[column])
    ]


def _as_text_categories(frame):
    """Categories as Python strings, missing values as NaN (object array)."""
    frame = pd.DataFrame(frame)
    text = frame.astype(str).astype(object)
    return text.where(frame.notna().to_numpy(), np.nan).to_numpy(dtype=object)


def estimator_class(task):
    """The nnestimators estimator class for ``task``."""
    return {
        "binary": NNBinaryClassifier,
        "multiclass": NNClassifier,
        "regression": NNRegressor,
    }[task]


def make_network(task, preset, max_epochs, seed, n_threads=None):
    """The network estimator for ``task`` with a ``--model`` preset.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        The task.
    preset : {"mlp", "linear", "wide"}
        Key of :data:`MODEL_PRESETS`.
    max_epochs : int or "auto"
        Most epochs per fit.
    seed : int
        Random state of the network.
    n_threads : int, default=None
        The network's ``n_threads``; None leaves the estimator's default.

    Returns
    -------
    estimator : NNBinaryClassifier, NNClassifier or NNRegressor
        ``NNRegressor`` learns a standardised target itself
        (``standardize_target``), so no target transformer wraps it.
    """
    options = {} if n_threads is None else {"n_threads": n_threads}
    return estimator_class(task)(
        module__hidden_units=MODEL_PRESETS[preset],
        max_epochs=max_epochs,
        validation_fraction=VALIDATION_FRACTION,
        patience=PATIENCE,
        metrics=list(EPOCH_METRICS[task]),
        random_state=seed,
        verbose=0,
        **options,
    )


def _network_param(name):
    """The pipeline parameter name of the network's parameter ``name``."""
    return f"model__{name}"


class LogUniform:
    """``scipy.stats.loguniform(low, high)`` that prints as its arguments.

    scipy's frozen distributions print as ``<... object at 0x...>``; the
    report shows the search's parameters, so this one says what it draws.
    """

    def __init__(self, low, high):
        self.low = low
        self.high = high

    def rvs(self, size=None, random_state=None):
        from scipy.stats import loguniform

        return loguniform(self.low, self.high).rvs(size=size, random_state=random_state)

    def __repr__(self):
        return f"loguniform({self.low:g}, {self.high:g})"


def make_search(model, task, kind, seed):
    """Wrap ``model`` in a grid or randomised search over lr and hidden units.

    Parameters
    ----------
    model : Pipeline
        Pipeline whose network step is named ``"model"``.
    task : {"binary", "multiclass", "regression"}
        Picks the score optimised.
    kind : {"grid", "random"}
        The search.
    seed : int
        Seed of the inner folds and of the random draws.

    Returns
    -------
    search : GridSearchCV or RandomizedSearchCV
    """
    from sklearn.model_selection import (
        GridSearchCV,
        KFold,
        RandomizedSearchCV,
        StratifiedKFold,
    )

    splitter = KFold if task == "regression" else StratifiedKFold
    inner = splitter(n_splits=INNER_FOLDS, shuffle=True, random_state=seed)
    # A diverging candidate scores NaN and loses; it does not stop the search.
    common = {"cv": inner, "scoring": SEARCH_SCORING[task]}
    if kind == "grid":
        grid = {_network_param(name): v for name, v in SEARCH_GRID.items()}
        return GridSearchCV(model, grid, **common)
    distributions = {
        _network_param("lr"): LogUniform(*RANDOM_LR_RANGE),
        _network_param("module__hidden_units"): list(RANDOM_HIDDEN_UNITS),
    }
    return RandomizedSearchCV(
        model,
        distributions,
        n_iter=RANDOM_SEARCH_ITERATIONS,
        random_state=seed,
        **common,
    )
