"""Running cross-validation and the report object that holds its results."""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.base import is_classifier
from sklearn.model_selection import KFold, StratifiedKFold, check_cv, cross_validate
from sklearn.utils import _safe_indexing

from . import export, figures
from .formatting import format_number, mean_and_std
from .history import final_step, has_history, still_improving
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
    """

    fold: int
    n_splits: int
    fit_time: float
    score_time: float
    estimator: object
    test_scores: dict = field(default_factory=dict)
    still_improving: bool = False

    @property
    def seconds(self):
        return self.fit_time + self.score_time


def cross_validated_report(
    estimator,
    X,
    y,
    cv=5,
    scoring=None,
    *,
    groups=None,
    task="auto",
    return_train_score=True,
    n_jobs=None,
    random_state=None,
    params=None,
    context=None,
    progress=None,
):
    """Cross-validate an estimator and gather scores, predictions and figures.

    Runs ``sklearn.model_selection.cross_validate`` on each fold, keeps the
    fold estimators and predicts each fold's test samples with its
    estimator, so the out-of-fold curves and matrices cost no refitting.

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
    groups : array-like of shape (n_samples,), default=None
        Group labels for a grouped splitter (``GroupKFold``, ...), as in
        ``cross_validate``.
    task : {"auto", "binary", "multiclass", "regression"}, default="auto"
        The learning task; ``"auto"`` infers it from the estimator and ``y``.
    return_train_score : bool, default=True
        Also score the training folds, to show over-fitting.
    n_jobs : int, default=None
        Folds fitted in parallel, as in ``cross_validate``.
    random_state : int, RandomState instance or None, default=None
        Shuffling of the folds when ``cv`` is an int.
    params : dict, default=None
        Parameters passed to the estimator's ``fit`` (e.g. ``sample_weight``),
        as ``cross_validate`` does without metadata routing: the scores are
        not weighted.
    context : dict of str to str, default=None
        What the report says about its data and model, e.g.
        ``{"Data": "houses.csv", "Dropped columns": "id"}``; shown at the
        top of the HTML page and kept in ``metrics.json``. Entries
        ``"Rows"``, ``"Features"``, ``"Target"``, ``"Model"`` and
        ``"Cross-validation"`` are described from the arguments unless
        given.
    progress : callable, default=None
        Called with a :class:`FoldResult` as each fold finishes (in the
        order they finish when ``n_jobs`` runs them in parallel).

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
    splits = list(
        check_cv(splitter, y, classifier=is_classifier(estimator)).split(X, y, groups)
    )
    _check_every_class_is_tested(y, splits, metrics, task)
    options = {
        "scoring": {m.name: m.scorer for m in metrics},
        "params": params,
        "return_train_score": return_train_score,
    }
    results = {}
    for number, result in _run_folds(estimator, X, y, splits, options, n_jobs):
        results[number] = result
        if progress is not None:
            progress(_fold_result(number, len(splits), result, metrics))
    results = _merge_results([results[number] for number in sorted(results)])
    pos_label = positive_label(y) if task == "binary" else None
    folds = _out_of_fold_predictions(results, X, y, task, pos_label)
    classes = None if task == "regression" else np.unique(np.asarray(y))
    report = CrossValidatedReport(
        estimator=estimator,
        task=task,
        metrics=metrics,
        cv_results=results,
        folds=folds,
        pos_label=pos_label,
        classes=classes,
        cv=splitter,
    )
    report.context = _ordered_context(
        {**_default_context(report, X, y, random_state), **(context or {})}
    )
    return report


# The order of the report's description; other entries follow these.
_CONTEXT_ORDER = (
    "Data",
    "Rows",
    "Features",
    "Dropped columns",
    "Target column",
    "Target",
    "Model",
    "Settings",
    "Cross-validation",
)


def _ordered_context(context):
    rank = {key: number for number, key in enumerate(_CONTEXT_ORDER)}
    keys = sorted(context, key=lambda key: rank.get(key, len(rank)))
    return {key: context[key] for key in keys}


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


def _check_every_class_is_tested(y, splits, metrics, task):
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


def _run_folds(estimator, X, y, splits, options, n_jobs):
    """Yield ``(fold number, results)`` as each fold finishes.

    Sequential when ``n_jobs`` is 1, or None outside a joblib
    ``parallel_config`` that says otherwise (a Dask backend runs as many
    folds as the cluster can); otherwise through joblib, in the order folds
    finish where the backend can tell, else in fold order once all have
    finished.
    """
    from joblib import effective_n_jobs

    tasks = [
        (number, estimator, X, y, split, options)
        for number, split in enumerate(splits, start=1)
    ]
    if n_jobs == 1 or (n_jobs is None and effective_n_jobs(None) == 1):
        for task in tasks:
            yield _fit_fold(*task)
        return
    from joblib import Parallel, delayed

    try:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    except ValueError:  # a backend that cannot return results as they come
        parallel = Parallel(n_jobs=n_jobs)
    yield from parallel(delayed(_fit_fold)(*task) for task in tasks)


def _fold_result(number, n_splits, result, metrics):
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
    )


def _merge_results(results):
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


def _default_context(report, X, y, random_state):
    """The report's own description of its data, model and folds."""
    n_rows, n_features = np.shape(X)[0], (np.shape(X)[1] if np.ndim(X) > 1 else 1)
    features = f"{n_features:,}"
    if np.ndim(X) in (3, 4) and not isinstance(X, pd.DataFrame):
        # Images, (n, H, W) or (n, C, H, W): say their shape, not one axis.
        *channels, height, width = np.shape(X)[1:]
        count = channels[0] if channels else 1
        features = f"images of {height}x{width} pixels, {count} channel(s)"
    if isinstance(X, pd.DataFrame):
        numeric = sum(
            is_numeric_dtype(X[c]) and not is_bool_dtype(X[c]) for c in X.columns
        )
        features += f" ({numeric:,} numeric, {n_features - numeric:,} categorical)"
    context = {
        "Rows": f"{n_rows:,}",
        "Features": features,
        "Target": describe_target(y, report.task),
        "Model": report.describe_estimator(),
        "Cross-validation": describe_splitter(report.cv, report.n_splits, random_state),
    }
    return context


def describe_target(y, task):
    """Class counts of a classification target, the range of a regression one.

    Examples
    --------
    >>> describe_target(["a", "b", "a"], "binary")
    'binary: a 2, b 1'
    """
    values = np.asarray(y)
    if task == "regression":
        values = values.astype(float)
        return (
            f"regression: from {format_number(values.min())} to "
            f"{format_number(values.max())}, mean {format_number(values.mean())}, "
            f"std {format_number(values.std(ddof=1) if len(values) > 1 else 0.0)}"
        )
    labels, counts = np.unique(values, return_counts=True)
    shown = ", ".join(f"{label} {count:,}" for label, count in zip(labels, counts))
    return f"{task}: {shown}"


def describe_splitter(splitter, n_splits, random_state=None):
    """``"5 folds, StratifiedKFold, shuffled with seed 0"``."""
    text = f"{n_splits} folds, {type(splitter).__name__}"
    if getattr(splitter, "shuffle", False):
        seed = getattr(splitter, "random_state", random_state)
        text += " (shuffled" + (f", seed {seed})" if seed is not None else ")")
    return text


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
    context : dict of str to str
        What the report says about its data and model (see the ``context``
        argument of ``cross_validated_report``).
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
        self.context = {}

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

    def still_improving_folds(self):
        """Numbers of the folds whose training ended on its best epoch.

        Those fits stopped at the ``max_epochs`` cap while still improving;
        more epochs would probably give a better model.
        """
        return [
            number
            for number, est in enumerate(self.estimators_, start=1)
            if still_improving(est)
        ]

    def notes(self):
        """Warnings about the run, as sentences (empty when all is well).

        Examples
        --------
        >>> report.notes()  # doctest: +SKIP
        ['Folds 1, 3 ended at the max_epochs cap while still improving ...']
        """
        folds = self.still_improving_folds()
        if not folds:
            return []
        which = (
            f"Fold {folds[0]}" if len(folds) == 1 else f"Folds {_join_numbers(folds)}"
        )
        return [
            f"{which} of {self.n_splits} ended at the max_epochs cap while still "
            "improving (the last epoch was the best); more epochs would "
            "probably give a better model."
        ]

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

        Large numbers have thousands separators: ``37,260 ± 3,800``.
        """
        summary = self.summary()
        splits = ("test", "train") if self.has_train_scores else ("test",)
        cells = {
            split: [
                mean_and_std(mean, std)
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

    def describe_estimator(self):
        """``"Pipeline ending in NNClassifier"``, ``"GridSearchCV of ..."``."""
        name = type(self.estimator).__name__
        final = type(final_step(self.estimator)).__name__
        if name == "Pipeline":
            return f"Pipeline ending in {final}"
        if name != final:
            return f"{name} of {final}"
        return name

    def describe(self):
        """One line naming the task, the estimator and the folds."""
        return (
            f"{self.task} task, {self.describe_estimator()}, "
            f"{self.n_splits}-fold cross-validation"
        )

    def __str__(self):
        table = self.formatted_summary().to_string()
        return f"Cross-validated report: {self.describe()}\n{table}"

    def __repr__(self):
        return f"<CrossValidatedReport: {self.describe()}>\n" + (
            self.formatted_summary().to_string()
        )


def _join_numbers(numbers):
    """``"1, 2 and 4"``."""
    numbers = [str(number) for number in numbers]
    return ", ".join(numbers[:-1]) + f" and {numbers[-1]}"
