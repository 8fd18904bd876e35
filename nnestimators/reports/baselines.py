"""Baselines scored on the report's own folds: does the network help?

Two reference models go through the same preprocessing as the network
(the steps of its Pipeline before the last one) and the same folds and
metrics: a dummy that ignores the features (the majority class, or the
mean) and a linear model (logistic regression, or ridge regression that
picks its penalty by efficient leave-one-out cross-validation on a bounded
number of rows, see ``bounded_ridge``). Both linear models need memory of
the order of the data, whatever its shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline

from .bounded_ridge import MAX_SEARCH_ROWS, BoundedRidgeCV
from .formatting import format_number, mean_and_std
from .searches import is_search

# Ridge penalties the linear regression baseline chooses from, 1e-3 to 1e3.
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))

# The metric each task's comparison sentence is about, when it was scored.
HEADLINE_METRICS = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}


@dataclass
class BaselineResult:
    """The cross-validation of one baseline on the report's folds.

    Parameters
    ----------
    name : str
        ``"dummy"`` or ``"linear"``.
    model : str
        What was fitted after the preprocessing, e.g.
        ``"LogisticRegression(max_iter=1000)"``.
    description : str
        The baseline in a few words, e.g. ``"always the majority class"``.
    cv_results : dict or None
        What ``cross_validate`` returned; None when it failed.
    error : str or None
        Why the baseline could not be cross-validated.
    """

    name: str
    model: str
    description: str
    cv_results: dict | None = None
    error: str | None = None

    def scores(self, split, metric):
        """Per-fold values of ``metric`` on ``split``, errors positive."""
        return metric.sign * np.asarray(self.cv_results[f"{split}_{metric.name}"])


def baseline_models(task):
    """The final steps of the baselines of ``task``, by name.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        The learning task.

    Returns
    -------
    models : dict of str to (estimator, str)
        ``"dummy"`` and ``"linear"``, each an unfitted estimator and a
        description.

    Examples
    --------
    >>> sorted(baseline_models("regression"))
    ['dummy', 'linear']
    """
    if task == "regression":
        return {
            "dummy": (DummyRegressor(strategy="mean"), "always the training mean"),
            "linear": (
                BoundedRidgeCV(alphas=RIDGE_ALPHAS, max_rows=MAX_SEARCH_ROWS),
                "ridge regression, its penalty chosen by leave-one-out "
                "cross-validation on the training part of each fold (on "
                f"{MAX_SEARCH_ROWS:,} of its rows, drawn at random, when it has "
                f"more than {MAX_SEARCH_ROWS:,} rows and columns)",
            ),
        }
    return {
        "dummy": (
            DummyClassifier(strategy="prior"),
            "always the majority class, the class frequencies as probabilities",
        ),
        "linear": (
            LogisticRegression(max_iter=1000),
            "logistic regression (L2 penalty, C=1)",
        ),
    }


def with_final_step(estimator, final):
    """``estimator`` with its learning step replaced by ``final``, unfitted.

    The steps before it (a Pipeline's preprocessing, a
    ``TransformedTargetRegressor``'s target transformer) are kept; a search
    is replaced by the estimator it searches over; a bare estimator is
    replaced by ``final`` itself.

    Parameters
    ----------
    estimator : estimator object
        The report's estimator.
    final : estimator object
        The baseline's learning step.

    Returns
    -------
    estimator : estimator object

    Examples
    --------
    >>> from sklearn.linear_model import Lasso, Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> with_final_step(make_pipeline(StandardScaler(), Ridge()), Lasso())
    Pipeline(steps=[('standardscaler', StandardScaler()), ('ridge', Lasso())])
    """
    if isinstance(estimator, Pipeline):
        steps = list(clone(estimator).steps)
        name, last = steps[-1]
        # The step keeps its name, so fit parameters routed to it still arrive.
        steps[-1] = (name, with_final_step(last, final))
        return Pipeline(steps, memory=estimator.memory)
    if isinstance(estimator, TransformedTargetRegressor):
        wrapped = clone(estimator)
        return wrapped.set_params(regressor=with_final_step(estimator.regressor, final))
    if is_search(estimator):
        return with_final_step(estimator.estimator, final)
    return clone(final)


def run_baselines(estimator, X, y, task, splits, options):
    """Cross-validate the baselines of ``task`` on ``splits``.

    Parameters
    ----------
    estimator : estimator object
        The report's estimator, whose preprocessing the baselines share.
    X, y : array-like
        The data.
    task : str
        The learning task.
    splits : list of (train, test) index arrays
        The report's folds.
    options : dict
        ``scoring``, ``params`` and ``return_train_score``, as the network's
        cross-validation got them.

    Returns
    -------
    results : dict of str to BaselineResult
        A baseline that fails carries its error instead of scores: it never
        stops the report.
    """
    results = {}
    for name, (final, description) in baseline_models(task).items():
        result = BaselineResult(name, _model_text(final), description)
        try:
            result.cv_results = cross_validate(
                with_final_step(estimator, final),
                X,
                y,
                cv=splits,
                n_jobs=1,
                error_score="raise",
                **options,
            )
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:  # a baseline is optional: say why it failed
            text = str(error).strip().splitlines()
            result.error = f"{type(error).__name__}: {text[0] if text else ''}"
        results[name] = result
    return results


def _model_text(final):
    """``"RidgeCV(alphas: 13 values from 0.001 to 1,000)"``: the final step, short."""
    if isinstance(final, BoundedRidgeCV):
        alphas = final.alphas
        return (
            f"RidgeCV(alphas: {len(alphas)} values from "
            f"{format_number(alphas[0])} to {format_number(alphas[-1])})"
        )
    return repr(final)


def comparison_sentence(models, metric, n_splits):
    """Which model is best on ``metric``, and by how much against the fold spread.

    Parameters
    ----------
    models : dict of str to ndarray
        Per-fold test values of ``metric`` (errors positive) by model label,
        the network first.
    metric : Metric
        The metric compared; ``sign == -1`` means lower is better.
    n_splits : int
        Number of folds.

    Returns
    -------
    sentence : str

    Examples
    --------
    >>> from nnestimators.reports.tasks import Metric
    >>> print(comparison_sentence(
    ...     {"the network": np.array([0.90, 0.92, 0.94]),
    ...      "the linear baseline": np.array([0.80, 0.81, 0.82])},
    ...     Metric("accuracy", None), 3))
    ... # doctest: +NORMALIZE_WHITESPACE
    On accuracy, the network is best: 0.92 ± 0.02 against 0.81 ± 0.01 for the
    linear baseline, a difference of 0.11, 5.5 times the fold spread (0.02);
    better on 3 of 3 folds: a clear difference.
    """
    lower_is_better = metric.sign == -1
    means = {label: float(np.mean(values)) for label, values in models.items()}
    order = sorted(means, key=means.get, reverse=not lower_is_better)
    network = next(iter(models))
    best = order[0]
    other = order[1] if best == network else network
    spread = max(_std(models[best]), _std(models[other]))
    difference = abs(means[best] - means[other])
    if lower_is_better:
        wins = int(np.sum(models[best] < models[other]))
    else:
        wins = int(np.sum(models[best] > models[other]))

    def shown(label):
        return mean_and_std(means[label], _std(models[label]))

    head = (
        f"On {metric.name}, {best} is best: {shown(best)} against "
        f"{shown(other)} for {other}"
    )
    if spread > 0:
        ratio = difference / spread
        times = "under 5% of" if ratio < 0.05 else f"{ratio:.1f} times"
        size = (
            f"a difference of {format_number(difference, 2)}, "
            f"{times} the fold spread ({format_number(spread, 2)})"
        )
        verdict = _verdict(ratio)
    else:
        size = f"a difference of {format_number(difference, 2)}, with no fold spread"
        verdict = "a clear difference" if difference > 0 else "no difference"
    folds = f"better on {wins} of {n_splits} folds"
    return f"{head}, {size}; {folds}: {verdict}."


def _verdict(ratio):
    if ratio < 1:
        return "within the fold-to-fold spread, so the folds do not tell them apart"
    if ratio < 2:
        return "larger than the fold spread, though not by much"
    return "a clear difference"


def _std(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def headline_metric(metrics, task):
    """The metric the comparison sentence is about.

    ``roc_auc`` for binary tasks, ``accuracy`` for multiclass ones and
    ``rmse`` for regression, when scored; else the first metric.
    """
    wanted = HEADLINE_METRICS.get(task)
    for metric in metrics:
        if metric.name == wanted:
            return metric
    return metrics[0]
