"""Running the folds: one ``cross_validate`` per split, reported as each ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

from .history import ended_before_early_stopping, still_improving


@dataclass
class FoldResult:
    """What a ``progress`` callback of ``cross_validated_report`` receives.

    Parameters
    ----------
    fold : int
        Fold number, starting at 1.
    n_splits : int
        Number of folds.
    fit_time, score_time : float
        Seconds spent fitting and scoring.
    estimator : estimator object
        The fitted fold estimator.
    test_scores : dict of str to float
        The fold's test score per metric, errors as positive numbers.
    still_improving : bool
        Whether the fold's training ended on its best epoch: it stopped at
        the ``max_epochs`` cap while still improving.
    ended_before_early_stopping : bool
        Whether the fold's training, with early stopping, ended at the
        ``max_epochs`` cap before its patience ran out (``still_improving``
        folds included).
    """

    fold: int
    n_splits: int
    fit_time: float
    score_time: float
    estimator: object
    test_scores: dict = field(default_factory=dict)
    still_improving: bool = False
    ended_before_early_stopping: bool = False

    @property
    def seconds(self):
        return self.fit_time + self.score_time


def make_splitter(cv, task, random_state):
    """A shuffled (stratified) K-fold splitter for an int ``cv``."""
    if cv is None:
        cv = 5
    if not isinstance(cv, Integral) or isinstance(cv, bool):
        return cv
    if cv < 2:
        raise ValueError(f"cv must be at least 2; got cv={cv}.")
    splitter = KFold if task == "regression" else StratifiedKFold
    return splitter(n_splits=cv, shuffle=True, random_state=random_state)


def check_every_class_is_tested(y, splits, metrics, task):
    """One-vs-rest ROC-AUC needs every class in every test fold: say so first."""
    if task != "multiclass" or not any("roc_auc" in m.name for m in metrics):
        return
    y = np.asarray(y)
    classes = np.unique(y)
    for number, (_, test) in enumerate(splits, start=1):
        missing = np.setdiff1d(classes, y[test])
        if missing.size:
            counts = {label: int(np.sum(y == label)) for label in missing[:3].tolist()}
            raise ValueError(
                f"Test fold {number} of {len(splits)} holds no row of class(es) "
                f"{', '.join(f'{k!r} ({v} rows)' for k, v in counts.items())}, so "
                "ROC-AUC cannot be computed: use fewer folds (cv), or scoring "
                "without roc_auc."
            )


def run_folds(estimator, X, y, splits, options, n_jobs):
    """Yield ``(fold number, results)`` as each fold finishes.

    Sequential when ``n_jobs`` is 1, or None outside a joblib
    ``parallel_config`` that says otherwise (a Dask backend runs as many
    folds as the cluster can); otherwise through joblib, in the order folds
    finish where the backend can tell, else in fold order once all have
    finished.
    """
    tasks = [
        (number, estimator, X, y, split, options)
        for number, split in enumerate(splits, start=1)
    ]
    if n_jobs == 1 or (n_jobs is None and effective_n_jobs(None) == 1):
        for task in tasks:
            yield _fit_fold(*task)
        return
    try:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    except ValueError:  # a backend that cannot return results as they come
        parallel = Parallel(n_jobs=n_jobs)
    yield from parallel(delayed(_fit_fold)(*task) for task in tasks)


def _fit_fold(number, estimator, X, y, split, options):
    """Cross-validate on one split; returns the fold number and the results."""
    result = cross_validate(
        estimator,
        X,
        y,
        cv=[split],
        return_estimator=True,
        return_indices=True,
        # A report built on silently failed folds would mislead.
        error_score="raise",
        **options,
    )
    return number, result


def fold_result(number, n_splits, result, metrics):
    """The ``FoldResult`` of one finished fold, for a ``progress`` callback."""
    estimator = result["estimator"][0]
    return FoldResult(
        fold=number,
        n_splits=n_splits,
        fit_time=float(result["fit_time"][0]),
        score_time=float(result["score_time"][0]),
        estimator=estimator,
        test_scores={
            m.name: m.sign * float(result[f"test_{m.name}"][0]) for m in metrics
        },
        still_improving=still_improving(estimator),
        ended_before_early_stopping=ended_before_early_stopping(estimator),
    )


def merge_results(results):
    """One ``cross_validate`` result from the results of single folds."""
    merged = {}
    for key in results[0]:
        if key == "estimator":
            merged[key] = [est for result in results for est in result[key]]
        elif key == "indices":
            merged[key] = {
                part: [index for result in results for index in result[key][part]]
                for part in ("train", "test")
            }
        else:
            merged[key] = np.concatenate(
                [np.asarray(result[key]) for result in results]
            )
    return merged
