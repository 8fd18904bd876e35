"""The report object: a cross-validation's scores, predictions, figures and files."""

from __future__ import annotations

from datetime import datetime, timezone

from . import export, figures, tables
from .baselines import comparison_sentence, headline_metric
from .history import final_step, has_history
from .notes import epoch_cap_folds, run_notes, still_improving_folds
from .predictions import predictions_frame
from .provenance import library_versions
from .searches import chosen_parameters


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
        return len(self._splits()) > 1

    def _splits(self):
        return tables.scored_splits(self.cv_results)

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
        return tables.fold_scores(self.cv_results, self.metrics)

    def still_improving_folds(self):
        """Numbers of the folds whose training ended on its best epoch.

        Those fits stopped at the ``max_epochs`` cap while still improving;
        more epochs would probably give a better model.
        """
        return still_improving_folds(self.estimators_)

    def epoch_cap_folds(self):
        """Numbers of the folds that hit the ``max_epochs`` cap too early.

        With early stopping (``patience``), a fit ends ``patience`` epochs
        after its best one; these folds ended sooner, at the ``max_epochs``
        cap (the automatic one too), while the monitored value had improved
        within the last ``patience`` epochs. The ``still_improving_folds``
        are among them.
        """
        return epoch_cap_folds(self.estimators_)

    def notes(self):
        """Warnings about the run, as sentences (empty when all is well).

        Examples
        --------
        >>> report.notes()  # doctest: +SKIP
        ['Folds 1, 3 ended at the max_epochs cap while still improving ...']
        """
        return run_notes(self.estimators_, self.baselines.values())

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
        return tables.summary(self.to_frame(), self.metric_names, self._splits())

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
        return tables.baseline_summary(
            self._scored_baselines(), self.metrics, self._splits()
        )

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
        return tables.formatted_comparison(
            self.summary(), self.baseline_summary(), self._scored_baselines()
        )

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
        return tables.formatted_summary(self.summary(), self._splits())

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
        return predictions_frame(self.folds, self.classes, self.row_ids)

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


def _learner_name(estimator):
    """``"NNClassifier"``: the class of the step that learns."""
    return type(final_step(estimator)).__name__
