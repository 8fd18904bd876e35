"""Out-of-fold predictions: each fold's test rows predicted by that fold's estimator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import _safe_indexing


@dataclass
class FoldPredictions:
    """Out-of-fold predictions of one fold estimator.

    Parameters
    ----------
    fold : int
        Fold number, starting at 1.
    test_index : ndarray of int
        Positions of the test samples in the data given to the report.
    y_true : ndarray
        The true targets of the test samples.
    y_pred : ndarray
        Predicted labels (classification) or values (regression).
    y_score : ndarray or None
        Score of the positive class (binary classification only): its
        ``predict_proba`` column, else ``decision_function``.
    y_proba : ndarray of shape (n_test, n_classes) or None
        Class probabilities (classification with ``predict_proba``), columns
        in the order of the report's ``classes``.
    """

    fold: int
    test_index: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    y_score: np.ndarray | None = None
    y_proba: np.ndarray | None = None


def out_of_fold_predictions(results, X, y, task, pos_label, classes):
    """Predict each fold's test samples with that fold's estimator.

    Parameters
    ----------
    results : dict
        What ``cross_validate`` returned, with estimators and indices.
    X, y : array-like
        The data given to the report.
    task : {"binary", "multiclass", "regression"}
        The learning task.
    pos_label : object or None
        The positive class of a binary task.
    classes : ndarray or None
        The class labels, sorted; the columns of ``y_proba``.

    Returns
    -------
    folds : list of FoldPredictions
    """
    folds = []
    pairs = zip(results["estimator"], results["indices"]["test"])
    for number, (estimator, test_index) in enumerate(pairs, start=1):
        X_test = _safe_indexing(X, test_index)
        y_proba = y_score = None
        if task != "regression":
            y_proba = _class_probabilities(estimator, X_test, classes)
        if task == "binary":
            y_score = _positive_class_scores(estimator, X_test, pos_label, y_proba)
        folds.append(
            FoldPredictions(
                fold=number,
                test_index=np.asarray(test_index),
                y_true=np.asarray(_safe_indexing(y, test_index)),
                y_pred=np.asarray(estimator.predict(X_test)),
                y_score=y_score,
                y_proba=y_proba,
            )
        )
    return folds


def _class_probabilities(estimator, X, classes):
    """``predict_proba`` with a column per class of ``classes``, or None."""
    if not hasattr(estimator, "predict_proba"):
        return None
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    fitted = list(estimator.classes_)
    # A class absent from a training fold has probability 0 there.
    columns = np.zeros((len(proba), len(classes)))
    for column, label in enumerate(classes):
        if label in fitted:
            columns[:, column] = proba[:, fitted.index(label)]
    return columns


def _positive_class_scores(estimator, X, pos_label, y_proba):
    """Scores of ``pos_label``: a probability if available, else a decision."""
    classes = list(estimator.classes_)
    if y_proba is not None:
        return y_proba[:, 1]  # the report's classes are sorted: pos_label last
    if hasattr(estimator, "decision_function"):
        # decision_function is positive for classes_[1].
        decision = np.asarray(estimator.decision_function(X)).ravel()
        return decision if classes.index(pos_label) == 1 else -decision
    return None


def row_ids(X):
    """The label of every row: a DataFrame's index, else its position."""
    if isinstance(X, pd.DataFrame):
        return X.index.to_numpy()
    return np.arange(len(X))


def predictions_frame(folds, classes, rows=None):
    """All out-of-fold predictions in one table, one row per sample.

    Parameters
    ----------
    folds : list of FoldPredictions
        The predictions of every fold.
    classes : ndarray or None
        The class labels, for the ``proba_<class>`` columns.
    rows : ndarray, default=None
        The label of every row of ``X`` (see ``row_ids``); the position when
        None.

    Returns
    -------
    frame : pandas.DataFrame
        See ``CrossValidatedReport.predictions``.
    """
    parts = []
    for fold in folds:
        part = {"fold": fold.fold, "y_true": fold.y_true, "y_pred": fold.y_pred}
        if fold.y_score is not None:
            part["y_score"] = fold.y_score
        if fold.y_proba is not None:
            for column, label in enumerate(classes):
                part[f"proba_{label}"] = fold.y_proba[:, column]
        parts.append(pd.DataFrame(part, index=fold.test_index))
    frame = pd.concat(parts).sort_index()
    frame.index.name = "sample"
    rows = rows if rows is not None else frame.index.to_numpy()
    frame.insert(0, "row", np.asarray(rows)[frame.index.to_numpy()])
    return frame
