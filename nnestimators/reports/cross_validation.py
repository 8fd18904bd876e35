"""Running cross-validation and the report object that holds its results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.model_selection import KFold, StratifiedKFold, check_cv, cross_validate
from sklearn.utils import _safe_indexing

from . import export, figures
from .baselines import comparison_sentence, headline_metric, run_baselines
from .context import default_context, ordered_context
from .formatting import mean_and_std
from .history import (
    ended_before_early_stopping,
    epochs_of,
    final_step,
    has_history,
    history_of,
    still_improving,
)
from .provenance import library_versions
from .searches import chosen_parameters
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
    baselines=True,
):
    """Cross-validate an estimator and gather scores, predictions and figures.

    Runs ``sklearn.model_selection.cross_validate`` on each fold, keeps the
    fold estimators and predicts each fold's test samples with its
    estimator, so the out-of-fold curves and matrices cost no refitting.
    Two baselines are scored on the same folds, through the same
    preprocessing and with the same metrics, so the report tells whether
    the network beats a dummy and a linear model.

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
    baselines : bool, default=True
        Also cross-validate two baselines on the same folds: a dummy
        (``DummyClassifier(strategy="prior")``, the majority class, or
        ``DummyRegressor()``, the mean) and a linear model
        (``LogisticRegression(max_iter=1000)``, or ``RidgeCV`` choosing its
        penalty by efficient leave-one-out cross-validation). Each replaces
        the last step of the estimator's Pipeline, so it sees the same
        preprocessing; a search is replaced by the Pipeline it searches
        over. A baseline that fails is noted, not raised. They run one fold
        after another in this process.

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
    classes = None if task == "regression" else np.unique(np.asarray(y))
    folds = _out_of_fold_predictions(results, X, y, task, pos_label, classes)
    report = CrossValidatedReport(
        estimator=estimator,
        task=task,
        metrics=metrics,
        cv_results=results,
        folds=folds,
        pos_label=pos_label,
        classes=classes,
        cv=splitter,
        baselines=(
            run_baselines(estimator, X, y, task, splits, options) if baselines else {}
        ),
        row_ids=_row_ids(X),
    )
    report.context = ordered_context(
        {**default_context(report, X, y, random_state), **(context or {})}
    )
    return report


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
        ended_before_early_stopping=ended_before_early_stopping(estimator),
    )


def _row_ids(X):
    """The label of every row: a DataFrame's index, else its position."""
    if isinstance(X, pd.DataFrame):
        return X.index.to_numpy()
    return np.arange(len(X))


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


def _out_of_fold_predictions(results, X, y, task, pos_label, classes):
    """Predict each fold's test samples with that fold's estimator."""
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
    baselines : dict of str to BaselineResult, default=None
        The baselines scored on the same folds, by name (``"dummy"``,
        ``"linear"``).
    row_ids : ndarray, default=None
        The label of every row of ``X`` (a DataFrame's index, else the
        position), for ``predictions``.

    Attributes
    ----------
    context : dict of str to str
        What the report says about its data and model (see the ``context``
        argument of ``cross_validated_report``).
    command : str or None
        The command line that made the report (the ``nnestimators report``
        command sets it); shown on the page and kept in ``metrics.json``.
    versions : dict of str to str
        Versions of Python and of the libraries the report was made with.
    created : str
        When the report was made, in ISO 8601 (UTC).
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
        baselines=None,
        row_ids=None,
    ):
        self.estimator = estimator
        self.task = task
        self.metrics = list(metrics)
        self.cv_results = cv_results
        self.folds = list(folds)
        self.pos_label = pos_label
        self.classes = classes
        self.cv = cv
        self.baselines = dict(baselines or {})
        self.row_ids = row_ids
        self.context = {}
        self.command = None
        self.versions = library_versions()
        self.created = datetime.now(timezone.utc).isoformat(timespec="seconds")

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

    def epoch_cap_folds(self):
        """Numbers of the folds that hit the ``max_epochs`` cap too early.

        With early stopping (``patience``), a fit ends ``patience`` epochs
        after its best one; these folds ended sooner, at the ``max_epochs``
        cap (the automatic one too), while the monitored value had improved
        within the last ``patience`` epochs. The ``still_improving_folds``
        are among them.
        """
        return [
            number
            for number, est in enumerate(self.estimators_, start=1)
            if ended_before_early_stopping(est)
        ]

    def notes(self):
        """Warnings about the run, as sentences (empty when all is well).

        Examples
        --------
        >>> report.notes()  # doctest: +SKIP
        ['Folds 1, 3 ended at the max_epochs cap while still improving ...']
        """
        notes = []
        improving = self.still_improving_folds()
        if improving:
            notes.append(
                f"{_folds_text(improving)} of {self.n_splits} ended at the "
                "max_epochs cap while still improving (the last epoch was the "
                "best); more epochs would probably give a better model."
            )
        capped = [n for n in self.epoch_cap_folds() if n not in improving]
        if capped:
            notes.append(self._epoch_cap_note(capped))
        for result in self.baselines.values():
            if result.error:
                notes.append(
                    f"The {result.name} baseline ({result.model}) could not be "
                    f"cross-validated: {result.error}"
                )
        return notes

    def _epoch_cap_note(self, folds):
        finals = [final_step(self.estimators_[n - 1]) for n in folds]
        epochs = [int(epochs_of(history_of(f, "the report")[0])[-1]) for f in finals]
        monitor = getattr(finals[0], "monitor", None) or "the monitored value"
        patience = getattr(finals[0], "patience", None)
        within = f"the last {patience} epochs (patience)" if patience else "patience"
        return (
            f"{_folds_text(folds)} of {self.n_splits} ended at the max_epochs "
            f"cap ({_join_numbers(epochs)} epochs) before early stopping "
            f"triggered: {monitor} had improved within {within}. More epochs "
            "might give a better model."
        )

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

    def baseline_summary(self):
        """Mean and standard deviation of every metric for each baseline.

        Returns
        -------
        summary : pandas.DataFrame
            Indexed by metric name, with columns ``<baseline>_test_mean``,
            ``<baseline>_test_std`` and, when train scores were computed,
            ``<baseline>_train_mean`` and ``<baseline>_train_std``, for
            ``dummy`` then ``linear``. No columns without baselines.

        Examples
        --------
        >>> report.baseline_summary().loc["roc_auc", "linear_test_mean"]  # doctest: +SKIP
        0.99
        """
        splits = ("test", "train") if self.has_train_scores else ("test",)
        columns = {}
        for result in self._scored_baselines():
            for split in splits:
                values = [result.scores(split, m) for m in self.metrics]
                columns[f"{result.name}_{split}_mean"] = [v.mean() for v in values]
                columns[f"{result.name}_{split}_std"] = [
                    v.std(ddof=1) if len(v) > 1 else np.nan for v in values
                ]
        frame = pd.DataFrame(columns, index=pd.Index(self.metric_names, name="metric"))
        return frame

    def _scored_baselines(self):
        return [result for result in self.baselines.values() if result.cv_results]

    def model_labels(self):
        """What the report calls the network and each scored baseline.

        Returns
        -------
        labels : dict of str to str
            ``"network"``, then the baselines' names, to labels such as
            ``"the linear baseline (LogisticRegression)"``.
        """
        kind = "network" if has_history(self.estimator) else "model"
        labels = {"network": f"the {kind} ({_learner_name(self.estimator)})"}
        for result in self._scored_baselines():
            labels[result.name] = (
                f"the {result.name} baseline ({result.model.split('(')[0]})"
            )
        return labels

    def comparison(self):
        """One sentence: which model is best, by how much against the fold spread.

        Compares the network with its baselines on one metric (``roc_auc``
        for binary tasks, ``accuracy`` for multiclass, ``rmse`` for
        regression, when scored; else the first metric): the best model
        against the network, or, when the network is best, against the
        best baseline. The difference of their mean test scores is given in
        units of the fold spread (the larger of their two standard
        deviations over the folds), with the number of folds on which the
        better one wins.

        Returns
        -------
        sentence : str or None
            None without baselines.

        Examples
        --------
        >>> report.comparison()  # doctest: +SKIP
        'On roc_auc, the NNBinaryClassifier is best: 0.9955 ± 0.0061 against ...'
        """
        scored = self._scored_baselines()
        if not scored:
            return None
        metric = headline_metric(self.metrics, self.task)
        labels = self.model_labels()
        values = {labels["network"]: self.to_frame()[f"test_{metric.name}"].to_numpy()}
        for result in scored:
            values[labels[result.name]] = result.scores("test", metric)
        return comparison_sentence(values, metric, self.n_splits)

    def formatted_comparison(self):
        """Test scores of the network and its baselines as ``"mean ± std"``.

        Returns
        -------
        table : pandas.DataFrame of str
            Indexed by metric, one column per model: ``"network"``, then
            ``"linear"`` and ``"dummy"`` (those that were scored).
        """
        summary = self.summary()
        columns = {
            "network": [
                mean_and_std(mean, std)
                for mean, std in zip(summary["test_mean"], summary["test_std"])
            ]
        }
        baselines = self.baseline_summary()
        for result in sorted(self._scored_baselines(), key=_baseline_order):
            columns[result.name] = [
                mean_and_std(mean, std)
                for mean, std in zip(
                    baselines[f"{result.name}_test_mean"],
                    baselines[f"{result.name}_test_std"],
                )
            ]
        return pd.DataFrame(columns, index=summary.index)

    def chosen_parameters(self):
        """The parameters a hyper-parameter search chose in each fold.

        Returns
        -------
        chosen : pandas.DataFrame
            Indexed by fold, one column per searched parameter (named as on
            the learning step: ``lr``, ``module__hidden_units``) and
            ``best_inner_score``; no columns when the estimator is no
            search.

        Examples
        --------
        >>> report.chosen_parameters()  # doctest: +SKIP
                  lr module__hidden_units  best_inner_score
        fold
        1      0.003            (128, 64)             0.991
        """
        return chosen_parameters(self.estimators_)

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
        """All out-of-fold predictions in one table, one row per sample.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by sample position in ``X``, with columns ``row`` (the
            row's label: a DataFrame's index, else its position), ``fold``,
            ``y_true``, ``y_pred``, for binary tasks ``y_score`` (the
            positive class's probability or decision value) and, for
            classifiers with ``predict_proba``, ``proba_<class>`` per class.

        Examples
        --------
        >>> report.predictions().head(2)  # doctest: +SKIP
                row  fold  y_true  y_pred  y_score  proba_0  proba_1
        sample
        0         0     2       0       0    0.011    0.989    0.011
        """
        parts = []
        for fold in self.folds:
            part = {"fold": fold.fold, "y_true": fold.y_true, "y_pred": fold.y_pred}
            if fold.y_score is not None:
                part["y_score"] = fold.y_score
            if fold.y_proba is not None:
                for column, label in enumerate(self.classes):
                    part[f"proba_{label}"] = fold.y_proba[:, column]
            parts.append(pd.DataFrame(part, index=fold.test_index))
        frame = pd.concat(parts).sort_index()
        frame.index.name = "sample"
        rows = self.row_ids if self.row_ids is not None else frame.index.to_numpy()
        frame.insert(0, "row", np.asarray(rows)[frame.index.to_numpy()])
        return frame

    def figure_names(self):
        """The names of the figures ``figures`` draws, in page order.

        Returns
        -------
        names : list of str
        """
        names = []
        if any(has_history(est) for est in self.estimators_):
            names.append("training_curves")
        if self.task == "binary" and self._scored_folds():
            names += ["roc_curve", "precision_recall_curve"]
        if self.task == "regression":
            names.append("prediction_error")
        else:
            names.append("confusion_matrix")
            if all(fold.y_proba is not None for fold in self.folds):
                names.append("calibration")
        return names

    def _scored_folds(self):
        return [fold for fold in self.folds if fold.y_score is not None]

    def figures(self):
        """Diagnostic figures of the cross-validation.

        Returns
        -------
        figures : dict of str to matplotlib.figure.Figure
            ``"training_curves"`` when the fold estimators record a history
            (the loss panel says what the loss measures, and in which
            units); ``"roc_curve"`` and ``"precision_recall_curve"`` for
            binary tasks; ``"confusion_matrix"`` (counts, and shares of each
            true class) and ``"calibration"`` (a reliability diagram, for
            classifiers with ``predict_proba``) for classification;
            ``"prediction_error"`` for regression.

        Examples
        --------
        >>> for name, figure in report.figures().items():  # doctest: +SKIP
        ...     figure.savefig(f"{name}.png")
        """
        draw = {
            "training_curves": lambda: figures.training_curves_figure(self.estimators_),
            "roc_curve": lambda: figures.roc_curve_figure(
                self._scored_folds(), self.pos_label
            ),
            "precision_recall_curve": lambda: figures.precision_recall_figure(
                self._scored_folds(), self.pos_label
            ),
            "prediction_error": lambda: figures.prediction_error_figure(self.folds),
            "confusion_matrix": lambda: figures.confusion_matrix_figure(
                self.folds, self.classes
            ),
            "calibration": lambda: figures.calibration_figure(
                self.folds, self.classes, self.pos_label
            ),
        }
        return {name: draw[name]() for name in self.figure_names()}

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

        Writes ``report.html``, ``folds.csv``, ``summary.csv`` (the
        network's statistics, then each baseline's: ``linear_test_mean``,
        ...), ``predictions.csv`` (the out-of-fold ``predictions``, one row
        per sample), ``metrics.json`` and one ``<figure>.png`` per figure.

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
        text = f"Cross-validated report: {self.describe()}\n"
        text += self.formatted_summary().to_string()
        comparison = self.comparison()
        if comparison is not None:
            table = self.formatted_comparison().to_string()
            text += f"\n\nBaselines on the same folds (test scores):\n{table}"
            text += f"\n{comparison}"
        return text

    def __repr__(self):
        return f"<CrossValidatedReport: {self.describe()}>\n" + (
            self.formatted_summary().to_string()
        )


def _folds_text(numbers):
    """``"Fold 2"`` or ``"Folds 1, 3 and 4"``."""
    if len(numbers) == 1:
        return f"Fold {numbers[0]}"
    return f"Folds {_join_numbers(numbers)}"


def _baseline_order(result):
    """The linear baseline first: it is the one to beat."""
    return (result.name != "linear", result.name)


def _learner_name(estimator):
    """``"NNClassifier"``: the class of the step that learns."""
    return type(final_step(estimator)).__name__


def _join_numbers(numbers):
    """``"1, 2 and 4"``."""
    numbers = [str(number) for number in numbers]
    if len(numbers) == 1:
        return numbers[0]
    return ", ".join(numbers[:-1]) + f" and {numbers[-1]}"
