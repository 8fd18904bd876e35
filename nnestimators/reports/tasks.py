"""Task inference and the default scorers of a cross-validated report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    get_scorer,
    make_scorer,
    precision_score,
    recall_score,
)
from sklearn.utils.multiclass import type_of_target

TASKS = ("binary", "multiclass", "regression")

# Scorer names scikit-learn negates so that greater is better; a report shows
# them as positive errors under a short name.
_ERROR_SCORER_NAMES = {
    "neg_root_mean_squared_error": "rmse",
    "neg_mean_squared_error": "mse",
    "neg_mean_absolute_error": "mae",
    "neg_median_absolute_error": "median_ae",
    "neg_mean_absolute_percentage_error": "mape",
    "neg_log_loss": "log_loss",
    "neg_brier_score": "brier_score",
}

_REGRESSION_SCORERS = (
    "neg_root_mean_squared_error",
    "neg_mean_absolute_error",
    "r2",
)


@dataclass(frozen=True)
class Metric:
    """One column of a report: a scorer and how to show its values.

    Parameters
    ----------
    name : str
        Name shown in the report, e.g. ``"rmse"``.
    scorer : callable
        A scikit-learn scorer, ``scorer(estimator, X, y) -> float``.
    sign : {1, -1}
        Factor turning the scorer's value into the shown value; ``-1`` for
        scorers that scikit-learn negates (``neg_*``).
    """

    name: str
    scorer: Callable
    sign: int = 1


def infer_task(estimator, y, task="auto"):
    """Return the learning task of ``estimator`` on target ``y``.

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn estimator or Pipeline; its type (classifier or
        regressor) decides between classification and regression.
    y : array-like of shape (n_samples,)
        The target.
    task : {"auto", "binary", "multiclass", "regression"}, default="auto"
        ``"auto"`` infers the task; any other value is checked against
        ``estimator`` and ``y`` and returned.

    Returns
    -------
    task : {"binary", "multiclass", "regression"}

    Raises
    ------
    ValueError
        If ``task`` is unknown or does not fit the estimator or the target.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> infer_task(LogisticRegression(), ["a", "b", "a"])
    'binary'
    """
    if task not in ("auto", *TASKS):
        raise ValueError(
            f"task must be one of 'auto', {', '.join(map(repr, TASKS))}; got {task!r}."
        )
    target_type = type_of_target(y, input_name="y")
    if is_regressor(estimator) or (
        not is_classifier(estimator) and target_type == "continuous"
    ):
        inferred = "regression"
    elif target_type in ("binary", "multiclass"):
        inferred = target_type
    else:
        raise ValueError(
            f"Unknown label type: the target is {target_type!r}, "
            "which a classifier cannot learn; expected 'binary' or 'multiclass'."
        )
    if task == "auto":
        task = inferred
    _check_task_fits(task, estimator, y)
    return task


def _check_task_fits(task, estimator, y):
    """Raise a ValueError when ``task`` contradicts the estimator or target."""
    if task == "regression":
        if is_classifier(estimator):
            raise ValueError(
                "task='regression' needs a regressor; got the classifier "
                f"{type(estimator).__name__}."
            )
        try:
            np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("task='regression' needs a numeric target.") from None
        return
    if is_regressor(estimator):
        raise ValueError(
            f"task={task!r} needs a classifier; got the regressor "
            f"{type(estimator).__name__}."
        )
    n_classes = len(np.unique(np.asarray(y)))
    if n_classes < 2:
        raise ValueError(
            "The target has a single class; classification needs at least 2."
        )
    if task == "binary" and n_classes != 2:
        raise ValueError(f"task='binary' needs 2 classes; the target has {n_classes}.")


def positive_label(y):
    """Return the positive class of a binary target, as scikit-learn picks it.

    scikit-learn's binary classifiers treat ``classes_[1]``, the greater of
    the two sorted labels, as positive.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        A binary target.

    Returns
    -------
    label : object
        The second of the sorted classes.

    Examples
    --------
    >>> positive_label(["no", "yes", "no"])
    'yes'
    """
    classes = np.unique(np.asarray(y))
    if len(classes) != 2:
        raise ValueError(f"A binary target has 2 classes; got {len(classes)}.")
    label = classes[1]
    # Return a plain Python scalar so that it prints and serialises cleanly.
    return label.item() if hasattr(label, "item") else label


def default_metrics(task, y, estimator=None):
    """Return the default metrics of a report for ``task``.

    Binary: accuracy, precision, recall, f1, roc_auc, average_precision (the
    label-based ones use ``positive_label`` so string labels work).
    Multiclass: accuracy, f1_macro, precision_macro, recall_macro, roc_auc_ovr.
    Regression: rmse, mae, r2 (errors shown as positive numbers).

    Parameters
    ----------
    task : str
        The learning task: "binary", "multiclass" or "regression".
    y : array-like of shape (n_samples,)
        The target, used to find the positive label of binary problems.
    estimator : estimator object, default=None
        When given, metrics needing probabilities or decision values are left
        out if the estimator offers neither.

    Returns
    -------
    metrics : list of Metric

    Examples
    --------
    >>> [m.name for m in default_metrics("regression", [0.5, 1.5])]
    ['rmse', 'mae', 'r2']
    """
    if task == "binary":
        metrics = _binary_metrics(positive_label(y))
    elif task == "multiclass":
        metrics = _multiclass_metrics()
    elif task == "regression":
        metrics = [_metric_from_name(name) for name in _REGRESSION_SCORERS]
    else:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}.")
    if estimator is None:
        return metrics
    return [m for m in metrics if _estimator_can_score(estimator, m.scorer)]


def _label_metric(name, score_func, **kwargs):
    """A metric of predicted labels that scores 0 where it is undefined.

    A fold that never predicts a class has no precision; the report shows 0
    rather than warning once per fold from deep inside cross-validation.
    """
    return Metric(name, make_scorer(score_func, zero_division=0.0, **kwargs))


def _binary_metrics(pos_label):
    """Binary metrics whose positive class is ``pos_label``."""
    # Scores (not labels) are enough for ROC AUC; roc_auc_score binarises
    # the labels itself, so the stock scorer handles string labels.
    scores = ("decision_function", "predict_proba")
    return [
        _metric_from_name("accuracy"),
        _label_metric("precision", precision_score, pos_label=pos_label),
        _label_metric("recall", recall_score, pos_label=pos_label),
        _label_metric("f1", f1_score, pos_label=pos_label),
        _metric_from_name("roc_auc"),
        Metric(
            "average_precision",
            make_scorer(
                average_precision_score, response_method=scores, pos_label=pos_label
            ),
        ),
    ]


def _multiclass_metrics():
    return [
        _metric_from_name("accuracy"),
        _label_metric("f1_macro", f1_score, average="macro"),
        _label_metric("precision_macro", precision_score, average="macro"),
        _label_metric("recall_macro", recall_score, average="macro"),
        _metric_from_name("roc_auc_ovr"),
    ]


def _metric_from_name(name):
    """A Metric for a scikit-learn scorer name; ``neg_*`` become positive."""
    scorer = get_scorer(name)
    if name in _ERROR_SCORER_NAMES:
        return Metric(_ERROR_SCORER_NAMES[name], scorer, sign=-1)
    if name.startswith("neg_"):
        return Metric(name[len("neg_") :], scorer, sign=-1)
    return Metric(name, scorer)


def _estimator_can_score(estimator, scorer):
    """Whether ``estimator`` offers a response method that ``scorer`` needs."""
    methods = getattr(scorer, "_response_method", "predict")
    if isinstance(methods, str):
        methods = (methods,)
    return any(hasattr(estimator, method) for method in methods)


def resolve_metrics(scoring, task, y, estimator=None):
    """Turn the ``scoring`` argument of a report into a list of Metric.

    Parameters
    ----------
    scoring : None, str, callable, list of str or dict
        ``None`` gives ``default_metrics``. A string is a scikit-learn
        scorer name; a callable is a scorer named ``"score"``; a list holds
        scorer names; a dict maps report names to scorer names or scorers.
        Names starting with ``neg_`` are shown as positive errors.
    task : str
        The learning task: "binary", "multiclass" or "regression".
    y : array-like of shape (n_samples,)
        The target.
    estimator : estimator object, default=None
        Used to drop default metrics the estimator cannot compute.

    Returns
    -------
    metrics : list of Metric

    Examples
    --------
    >>> [m.name for m in resolve_metrics(["accuracy"], "binary", [0, 1])]
    ['accuracy']
    """
    if scoring is None:
        metrics = default_metrics(task, y, estimator)
    elif isinstance(scoring, str):
        metrics = [_metric_from_name(scoring)]
    elif callable(scoring):
        metrics = [Metric("score", scoring)]
    elif isinstance(scoring, Mapping):
        metrics = [_metric_from_item(name, s) for name, s in scoring.items()]
    elif isinstance(scoring, Iterable):
        metrics = [_metric_from_name(name) for name in scoring]
    else:
        raise ValueError(
            "scoring must be None, a str, a callable, a list of str or a dict; "
            f"got {type(scoring).__name__}."
        )
    _check_unique_names(metrics)
    return metrics


def _metric_from_item(name, scorer):
    """A Metric for one ``name: scorer`` entry of a scoring dict."""
    if isinstance(scorer, str):
        return Metric(name, get_scorer(scorer), -1 if scorer.startswith("neg_") else 1)
    return Metric(name, scorer)


def _check_unique_names(metrics):
    names = [m.name for m in metrics]
    if not names:
        raise ValueError("scoring must name at least one metric.")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"scoring names metrics more than once: {duplicates}.")
