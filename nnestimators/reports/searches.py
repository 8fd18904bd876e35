"""What a hyper-parameter search chose in each fold of a report."""

from __future__ import annotations

import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline


def is_search(estimator):
    """Whether ``estimator`` is a hyper-parameter search (fitted or not).

    scikit-learn's searches, and others built like them, hold the
    estimator they search over and a ``param_grid`` or
    ``param_distributions``; the reports unwrap them through this test.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import GridSearchCV
    >>> is_search(GridSearchCV(Ridge(), {"alpha": [1, 10]})), is_search(Ridge())
    (True, False)
    """
    return hasattr(estimator, "param_grid") or hasattr(estimator, "param_distributions")


def learner_prefixes(estimator):
    """The routing prefixes from ``estimator`` to the step that learns.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> learner_prefixes(make_pipeline(StandardScaler(), Ridge()))
    ['ridge__']
    """
    prefixes = []
    while True:
        if isinstance(estimator, Pipeline):
            name, estimator = estimator.steps[-1]
            prefixes.append(f"{name}__")
        elif isinstance(estimator, TransformedTargetRegressor):
            prefixes.append("regressor__")
            estimator = estimator.regressor
        else:
            return prefixes


def short_parameter_name(name, prefixes):
    """``module__hidden_units`` for ``model__module__hidden_units``.

    The name of the parameter on the learning step, when ``name`` routes
    there through ``prefixes``; else ``name`` unchanged.
    """
    short = name
    for prefix in prefixes:
        if not short.startswith(prefix):
            return name
        short = short[len(prefix) :]
    return short


def chosen_parameters(estimators):
    """The parameters each fold's search chose, one row per fold.

    Parameters
    ----------
    estimators : list of estimator objects
        The fitted fold estimators of a report.

    Returns
    -------
    chosen : pandas.DataFrame
        Indexed by fold (from 1), one column per searched parameter (its
        name on the learning step, e.g. ``lr``, ``module__hidden_units``)
        and ``best_inner_score``, the search's own cross-validated score of
        the choice. Empty (no columns) when the estimators are no searches.
    """
    rows = {}
    for fold, search in enumerate(estimators, start=1):
        if not hasattr(search, "best_params_"):
            return pd.DataFrame(index=pd.RangeIndex(1, 1, name="fold"))
        prefixes = learner_prefixes(search.estimator)
        row = {
            short_parameter_name(name, prefixes): value
            for name, value in sorted(search.best_params_.items())
        }
        row["best_inner_score"] = getattr(search, "best_score_", float("nan"))
        rows[fold] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "fold"
    return frame


def search_scoring(estimators):
    """The name of the score the searches optimised, or None."""
    for search in estimators:
        scoring = getattr(search, "scoring", None)
        if isinstance(scoring, str):
            return scoring
        if scoring is None and hasattr(search, "best_params_"):
            return "score"
    return None
