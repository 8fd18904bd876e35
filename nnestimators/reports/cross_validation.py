"""Running cross-validation and the report object that holds its results."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.utils import _safe_indexing

from . import export, figures
from .history import final_step, has_history
from .tasks import infer_task, positive_label, resolve_metrics


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
    """

    fold: int
    test_index: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    y_score: np.ndarray | None = None


def cross_validated_report(
    estimator,
    X,
    y,
    cv=5,
    scoring=None,
    *,
    task="auto",
    return_train_score=True,
    n_jobs=None,
    random_state=None,
    params=None,
):
    """Cross-validate an estimator and gather scores, predictions and figures.

    Runs ``sklearn.model_selection.cross_validate`` once, keeps the fold
    estimators and predicts each fold's test samples with its estimator, so
    the out-of-fold curves and matrices cost no refitting.

    Parameters
    ----------
    estimator : estimator object
        Any scikit-learn estimator or Pipeline. When its final step has a
        ``history_frame`` method (nnestimators estimators), the report also
        plots the training curves of every fold.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The data.
    y : array-like of shape (n_samples,)
        The target.
    cv : int or cross-validation generator, default=5
        An int gives a shuffled ``sklearn.model_selection.StratifiedKFold``
        for classification or ``sklearn.model_selection.KFold`` for
        regression; anything else is passed to ``cross_validate`` as is.
    scoring : None, str, callable, list of str or dict, default=None
        Metrics. ``None`` gives the task's defaults: accuracy, precision,
        recall, f1, roc_auc and average_precision (binary); accuracy,
        f1_macro, precision_macro, recall_macro and roc_auc_ovr (multiclass);
        rmse, mae and r2 (regression). ``neg_*`` scorers are shown as positive
        errors.
    task : {"auto", "binary", "multiclass", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from the estimator and ``y``.
    return_train_score : bool, default=True
        Also score the training folds, to show over-fitting.
    n_jobs : int, default=None
        Folds fitted in parallel, as in ``cross_validate``.
    random_state : int, RandomState instance or None, default=None
        Shuffling of the folds when ``cv`` is an int.
    params : dict, default=None
        Parameters passed to the estimator's ``fit`` and the scorers.

    Returns
    -------
    report : CrossValidatedReport

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from nnestimators import NNBinaryClassifier
    >>> from nnestimators.reports import cross_validated_report
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), NNBinaryClassifier(max_epochs=5))
    >>> report = cross_validated_report(model, X, y, cv=3, random_state=0)
    >>> report.summary().loc["accuracy", "test_mean"] > 0.8  # doctest: +SKIP
    True
    >>> report.save("report/")  # doctest: +SKIP
    """
    task = infer_task(estimator, y, task)
    metrics = resolve_metrics(scoring, task, y, estimator)
    splitter = _make_splitter(cv, task, random_state)
    results = cross_validate(
        estimator,
        X,
        y,
        cv=splitter,
        scoring={m.name: m.scorer for m in metrics},
        n_jobs=n_jobs,
        params=params,
        return_train_score=return_train_score,
        return_estimator=True,
        return_indices=True,
        # A report built on silently failed folds would mislead.
        error_score="raise",
    )
    pos_label = positive_label(y) if task == "binary" else None
    folds = _out_of_fold_predictions(results, X, y, task, pos_label)
    return CrossValidatedReport(
        estimator=estimator,
        task=task,
        metrics=metrics,
        cv_results=results,
        folds=folds,
        pos_label=pos_label,
        classes=None if task == "regression" else np.unique(np.asarray(y)),
        cv=splitter,
    )


def _make_splitter(cv, task, random_state):
    """A shuffled (stratified) K-fold splitter for an int ``cv``."""
    if cv is None:
        cv = 5
    if not isinstance(cv, Integral) or isinstance(cv, bool):
        return cv
    if cv < 2:
        raise ValueError(f"cv must be at least 2; got cv={cv}.")
    splitter = KFold if task == "regression" else StratifiedKFold
    return splitter(n_splits=cv, shuffle=True, random_state=random_state)


def _out_of_fold_predictions(results, X, y, task, pos_label):
    """Predict each fold's test samples with that fold's estimator."""
    folds = []
    pairs = zip(results["estimator"], results["indices"]["test"])
    for number, (estimator, test_index) in enumerate(pairs, start=1):
        X_test = _safe_indexing(X, test_index)
        y_score = None
        if task == "binary":
            y_score = _positive_class_scores(estimator, X_test, pos_label)
        folds.append(
            FoldPredictions(
                fold=number,
                test_index=np.asarray(test_index),
                y_true=np.asarray(_safe_indexing(y, test_index)),
                y_pred=np.asarray(estimator.predict(X_test)),
                y_score=y_score,
            )
        )
    return folds


def _positive_class_scores(estimator, X, pos_label):
    """Scores of ``pos_label``: a probability if available, else a decision."""
    classes = list(estimator.classes_)
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X))
        return proba[:, classes.index(pos_label)]
    if hasattr(estimator, "decision_function"):
        # decision_function is positive for classes_[1].
        decision = np.asarray(estimator.decision_function(X)).ravel()
        return decision if classes.index(pos_label) == 1 else -decision
    return None


class CrossValidatedReport:
    """Scores, out-of-fold predictions and figures of one cross-validation.

    Build it with ``cross_validated_report``.

    Parameters
    ----------
    estimator : estimator object
        The cross-validated (unfitted) estimator.
    task : str
        The learning task: "binary", "multiclass" or "regression".
    metrics : list of Metric
        The metrics scored.
    cv_results : dict
        What ``cross_validate`` returned (with estimators and indices).
    folds : list of FoldPredictions
        Out-of-fold predictions.
    pos_label : object, default=None
        Positive class of a binary task.
    classes : ndarray, default=None
        The class labels of a classification task.
    cv : cross-validation generator, default=None
        The splitter used.

    Attributes
    ----------
    estimators_ : list of estimator objects
        The fitted estimator of every fold.
    metric_names : list of str
        Names of the metrics, in order.
    n_splits : int
        Number of folds.

    Examples
    --------
    >>> report = cross_validated_report(model, X, y)  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    >>> report.figures()["confusion_matrix"].savefig("cm.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        estimator,
        task,
        metrics,
        cv_results,
        folds,
        pos_label=None,
        classes=None,
        cv=None,
    ):
        self.estimator = estimator
        self.task = task
        self.metrics = list(metrics)
        self.cv_results = cv_results
        self.folds = list(folds)
        self.pos_label = pos_label
        self.classes = classes
        self.cv = cv

    @property
    def estimators_(self):
        return list(self.cv_results["estimator"])

    @property
    def metric_names(self):
        return [m.name for m in self.metrics]

    @property
    def n_splits(self):
        return len(self.folds)

    @property
    def has_train_scores(self):
        """Whether the training folds were scored too."""
        return any(key.startswith("train_") for key in self.cv_results)

    def to_frame(self):
        """Per-fold table of scores and times.

        Returns
        -------
        frame : pandas.DataFrame
            One row per fold, indexed by fold number (from 1), with columns
            ``test_<metric>``, ``train_<metric>`` (when scored), ``fit_time``
            and ``score_time`` in seconds, and ``best_epoch`` and ``n_epochs``
            when the fold estimators record a training history.

        Examples
        --------
        >>> report.to_frame()[["test_accuracy", "fit_time"]]  # doctest: +SKIP
        """
        columns = {}
        splits = ("test", "train") if self.has_train_scores else ("test",)
        for split in splits:
            for metric in self.metrics:
                values = np.asarray(self.cv_results[f"{split}_{metric.name}"])
                columns[f"{split}_{metric.name}"] = metric.sign * values
        columns["fit_time"] = self.cv_results["fit_time"]
        columns["score_time"] = self.cv_results["score_time"]
        columns.update(self._epoch_columns())
        index = pd.RangeIndex(1, self.n_splits + 1, name="fold")
        return pd.DataFrame(columns, index=index)

    def _epoch_columns(self):
        """Best epoch and number of epochs of each fold, when recorded."""
        finals = [final_step(est) for est in self.estimators_]
        if not all(has_history(final) for final in finals):
            return {}
        return {
            "best_epoch": pd.array(
                [getattr(f, "best_epoch_", None) for f in finals], dtype="Int64"
            ),
            "n_epochs": [len(f.history_frame()) for f in finals],
        }

    def summary(self):
        """Mean and standard deviation of every metric over the folds.

        Test and train scores sit side by side, so a large gap shows
        over-fitting. Errors (rmse, mae) are positive: lower is better.

        Returns
        -------
        summary : pandas.DataFrame
            Indexed by metric name, with columns ``test_mean``, ``test_std``
            and, when train scores were computed, ``train_mean`` and
            ``train_std``. The standard deviation has ``ddof=1``.

        Examples
        --------
        >>> report.summary().loc["accuracy", "test_mean"]  # doctest: +SKIP
        0.96
        """
        frame = self.to_frame()
        splits = ("test", "train") if self.has_train_scores else ("test",)
        rows = {}
        for name in self.metric_names:
            row = {}
            for split in splits:
                values = frame[f"{split}_{name}"]
                row[f"{split}_mean"] = values.mean()
                row[f"{split}_std"] = values.std()
            rows[name] = row
        summary = pd.DataFrame.from_dict(rows, orient="index")
        summary.index.name = "metric"
        return summary

    def formatted_summary(self):
        """The summary as text cells ``"mean ± std"``, one column per split.

        Returns
        -------
        summary : pandas.DataFrame of str

        Examples
        --------
        >>> report.formatted_summary()  # doctest: +SKIP
                            test             train
        metric
        accuracy  0.9613 ± 0.012  0.9912 ± 0.0031
        """
        summary = self.summary()
        splits = ("test", "train") if self.has_train_scores else ("test",)
        cells = {
            split: [
                _mean_and_std(mean, std)
                for mean, std in zip(summary[f"{split}_mean"], summary[f"{split}_std"])
            ]
            for split in splits
        }
        return pd.DataFrame(cells, index=summary.index)

    def predictions(self):
        """All out-of-fold predictions in one table.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by sample position in ``X``, with columns ``fold``,
            ``y_true``, ``y_pred`` and, for binary tasks, ``y_score``.
        """
        parts = []
        for fold in self.folds:
            part = {"fold": fold.fold, "y_true": fold.y_true, "y_pred": fold.y_pred}
            if fold.y_score is not None:
                part["y_score"] = fold.y_score
            parts.append(pd.DataFrame(part, index=fold.test_index))
        frame = pd.concat(parts).sort_index()
        frame.index.name = "sample"
        return frame

    def figures(self):
        """Diagnostic figures of the cross-validation.

        Returns
        -------
        figures : dict of str to matplotlib.figure.Figure
            ``"training_curves"`` when the fold estimators record a history;
            ``"roc_curve"`` and ``"precision_recall_curve"`` for binary tasks;
            ``"confusion_matrix"`` for classification; ``"prediction_error"``
            for regression.

        Examples
        --------
        >>> for name, figure in report.figures().items():  # doctest: +SKIP
        ...     figure.savefig(f"{name}.png")
        """
        result = {}
        curves = figures.training_curves_figure(self.estimators_)
        if curves is not None:
            result["training_curves"] = curves
        scored = [fold for fold in self.folds if fold.y_score is not None]
        if self.task == "binary" and scored:
            result["roc_curve"] = figures.roc_curve_figure(scored, self.pos_label)
            result["precision_recall_curve"] = figures.precision_recall_figure(
                scored, self.pos_label
            )
        if self.task == "regression":
            result["prediction_error"] = figures.prediction_error_figure(self.folds)
        else:
            result["confusion_matrix"] = figures.confusion_matrix_figure(
                self.folds, self.classes
            )
        return result

    def to_html(self, path=None):
        """Render the report as one self-contained HTML page.

        Figures are embedded as base64 PNG images, so the file can be mailed
        or archived on its own.

        Parameters
        ----------
        path : str or path-like, default=None
            When given, the page is also written to this file.

        Returns
        -------
        html : str

        Examples
        --------
        >>> report.to_html("report.html")  # doctest: +SKIP
        """
        return export.to_html(self, path)

    def to_markdown(self):
        """Render the summary and per-fold tables as Markdown.

        Returns
        -------
        markdown : str

        Examples
        --------
        >>> print(report.to_markdown())  # doctest: +SKIP
        """
        return export.to_markdown(self)

    def save(self, directory):
        """Write the report's files into ``directory``.

        Writes ``report.html``, ``folds.csv``, ``summary.csv``,
        ``metrics.json`` and one ``<figure>.png`` per figure.

        Parameters
        ----------
        directory : str or path-like
            Created if needed.

        Returns
        -------
        paths : dict of str to pathlib.Path
            Every file written, by name.

        Examples
        --------
        >>> paths = report.save("nnestimators-report")  # doctest: +SKIP
        >>> sorted(paths)[:2]  # doctest: +SKIP
        ['folds.csv', 'metrics.json']
        """
        return export.save(self, directory)

    def describe(self):
        """One line naming the task, the estimator and the folds."""
        name = type(self.estimator).__name__
        final = type(final_step(self.estimator)).__name__
        if name == "Pipeline":
            name = f"Pipeline ending in {final}"
        elif name != final:
            name = f"{name} of {final}"
        return f"{self.task} task, {name}, {self.n_splits}-fold cross-validation"

    def __str__(self):
        table = self.formatted_summary().to_string()
        return f"Cross-validated report: {self.describe()}\n{table}"

    def __repr__(self):
        return f"<CrossValidatedReport: {self.describe()}>\n" + (
            self.formatted_summary().to_string()
        )


def _mean_and_std(mean, std):
    """``"0.9613 ± 0.012"``; four significant digits are plenty for CV."""
    if np.isnan(std):
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {std:.2g}"
