"""``cross_validated_report``: the network and its baselines on the same folds."""

from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv

from .baselines import run_baselines
from .context import default_context, ordered_context
from .folds import (
    check_every_class_is_tested,
    fold_result,
    make_splitter,
    merge_results,
    run_folds,
)
from .predictions import out_of_fold_predictions, row_ids
from .report import CrossValidatedReport
from .tasks import infer_task, positive_label, resolve_metrics


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
        (``LogisticRegression(max_iter=1000)``, or ridge regression choosing
        its penalty by ``RidgeCV``'s efficient leave-one-out cross-validation,
        on 1,000 rows drawn at random when the training part has more rows
        and more columns than that, so its memory stays bounded). Each replaces
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
    splitter = make_splitter(cv, task, random_state)
    splits = list(
        check_cv(splitter, y, classifier=is_classifier(estimator)).split(X, y, groups)
    )
    check_every_class_is_tested(y, splits, metrics, task)
    options = {
        "scoring": {m.name: m.scorer for m in metrics},
        "params": params,
        "return_train_score": return_train_score,
    }
    results = {}
    for number, result in run_folds(estimator, X, y, splits, options, n_jobs):
        results[number] = result
        if progress is not None:
            progress(fold_result(number, len(splits), result, metrics))
    results = merge_results([results[number] for number in sorted(results)])
    pos_label = positive_label(y) if task == "binary" else None
    classes = None if task == "regression" else np.unique(np.asarray(y))
    folds = out_of_fold_predictions(results, X, y, task, pos_label, classes)
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
        row_ids=row_ids(X),
    )
    report.context = ordered_context(
        {**default_context(report, X, y, random_state), **(context or {})}
    )
    return report
