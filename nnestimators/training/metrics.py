"""Per-epoch validation metrics from one forward pass.

scikit-learn scorers ask an estimator for predictions. Here they ask a
stand-in that answers from the outputs the validation pass already computed,
so each epoch runs the validation data through the network once, whatever
the number of metrics.
"""

import difflib
import warnings
from typing import NamedTuple

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    get_scorer,
    get_scorer_names,
    hamming_loss,
    make_scorer,
    mean_absolute_error,
    mean_squared_error,
    root_mean_squared_error,
)


def _binary_accuracy(y_true, y_pred, sample_weight=None):
    """Keras's ``binary_accuracy``: the share of right outputs, so of right
    labels on a multilabel target (where ``accuracy`` needs every label
    of a sample right)."""
    if np.ndim(y_true) == 2:
        return 1.0 - hamming_loss(y_true, y_pred, sample_weight=sample_weight)
    return accuracy_score(y_true, y_pred, sample_weight=sample_weight)


class KerasMetric(NamedTuple):
    """How one of Keras's metric spellings is scored and recorded.

    ``column`` is the name its history keys take (``valid_<column>``);
    ``scorer`` a scikit-learn scorer name, or a metric function recorded as
    it is, minimised when ``lower_is_better`` (Keras's errors keep their
    sign).
    """

    column: str
    scorer: object
    lower_is_better: bool = False


def _keras(columns, scorer, lower_is_better=False):
    return {
        spelling: KerasMetric(column, scorer, lower_is_better)
        for spelling, column in columns
    }


# Keras's spellings (strings and metric class names) that ``metrics`` and
# ``monitor`` accept; ``monitor`` reads ``"val_<spelling>"`` as
# ``"valid_<column>"`` and ``"<spelling>"`` as ``"train_<column>"``.
KERAS_METRICS = {
    **_keras([("acc", "accuracy"), ("accuracy", "accuracy")], "accuracy"),
    **_keras(
        [("binary_accuracy", "binary_accuracy"), ("BinaryAccuracy", "binary_accuracy")],
        _binary_accuracy,
    ),
    **_keras(
        [
            ("categorical_accuracy", "categorical_accuracy"),
            ("CategoricalAccuracy", "categorical_accuracy"),
            ("sparse_categorical_accuracy", "sparse_categorical_accuracy"),
            ("SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
        ],
        "accuracy",
    ),
    **_keras([("auc", "auc"), ("AUC", "auc")], "roc_auc"),
    **_keras([("precision", "precision"), ("Precision", "precision")], "precision"),
    **_keras([("recall", "recall"), ("Recall", "recall")], "recall"),
    **_keras(
        [
            ("mse", "mse"),
            ("mean_squared_error", "mean_squared_error"),
            ("MeanSquaredError", "mean_squared_error"),
        ],
        mean_squared_error,
        lower_is_better=True,
    ),
    **_keras(
        [
            ("mae", "mae"),
            ("mean_absolute_error", "mean_absolute_error"),
            ("MeanAbsoluteError", "mean_absolute_error"),
        ],
        mean_absolute_error,
        lower_is_better=True,
    ),
    **_keras(
        [
            ("rmse", "rmse"),
            ("root_mean_squared_error", "root_mean_squared_error"),
            ("RootMeanSquaredError", "root_mean_squared_error"),
        ],
        root_mean_squared_error,
        lower_is_better=True,
    ),
}

# Averages for targets where a binary metric needs one: one-vs-rest over
# the classes (as "roc_auc" is), and Keras's pooled counts over the labels.
_AVERAGED = {
    ("multiclass", "roc_auc"): "roc_auc_ovr",
    ("multiclass", "precision"): "precision_macro",
    ("multiclass", "recall"): "recall_macro",
    ("multilabel", "precision"): "precision_micro",
    ("multilabel", "recall"): "recall_micro",
}


def keras_column(name):
    """The history column a metric named ``name`` records: Keras's spellings
    by ``KERAS_METRICS`` (``"acc"`` is ``"accuracy"``), any other as it is."""
    metric = KERAS_METRICS.get(name)
    return name if metric is None else metric.column


def make_scorers(metrics, context=None):
    """Return ``{name: scorer}`` from scorer names, scorer callables or a dict.

    Names are scikit-learn's scorer names or Keras's spellings
    (``KERAS_METRICS``: ``"acc"``, ``"AUC"``, ``"mse"``, ...), recorded under
    Keras's column names; a Keras error is the error itself, and its scorer
    says ``lower_is_better``. Callables follow scikit-learn's scorer
    signature ``scorer(estimator, X, y)`` (wrap a metric function with
    ``sklearn.metrics.make_scorer``) and are named after ``__name__``.
    ``context`` (``"multiclass"``, ``"multilabel"``, ...) adapts names that
    need it: ``"roc_auc"`` on a multiclass target is one-vs-rest
    (``"roc_auc_ovr"``), still recorded as ``roc_auc``; ``"precision"`` and
    ``"recall"`` are macro-averaged over classes and micro-averaged over
    labels.

    Raises
    ------
    ValueError
        For a name scikit-learn does not know, with the closest valid names.
    """
    if metrics is None:
        return {}
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    items = metrics.items() if isinstance(metrics, dict) else _named(metrics)
    scorers = {}
    for name, metric in items:
        if isinstance(metric, str):
            scorers[name] = _scorer(metric, context)
        elif callable(metric):
            scorers[name] = metric
        else:
            raise ValueError(
                f"metrics must hold scorer names or callables, got {metric!r}."
            )
    return scorers


def _scorer(name, context):
    """The scorer a metric name means, Keras's spellings included."""
    scorer = _named_scorer(name, context)
    _check_fits_task(name, scorer, context)
    return scorer


# Where scikit-learn keeps the metrics of one kind of target only.
_CLASSIFICATION_METRICS = (
    "sklearn.metrics._classification",
    "sklearn.metrics._ranking",
)
_REGRESSION_METRICS = ("sklearn.metrics._regression",)
_CLASSIFICATION_CONTEXTS = ("binary", "multiclass", "multilabel")


def _check_fits_task(name, scorer, context):
    """A metric of classes on a regressor, or of values on a classifier, is
    refused before training: it would score NaN or class codes as numbers."""
    score_func = getattr(scorer, "_score_func", None)
    module = getattr(score_func, "__module__", "")
    if score_func is _binary_accuracy:  # Keras's, defined here
        module = _CLASSIFICATION_METRICS[0]
    if context == "regression" and module in _CLASSIFICATION_METRICS:
        raise ValueError(
            f"metrics: {name!r} scores classes or class probabilities, and a "
            "regressor predicts values. Use a regression metric: 'r2', "
            "'neg_mean_squared_error', or Keras's 'mse', 'mae', 'rmse'."
        )
    if context in _CLASSIFICATION_CONTEXTS and module in _REGRESSION_METRICS:
        raise ValueError(
            f"metrics: {name!r} scores predicted values, and a classifier "
            "predicts classes (as codes, it would score their distances). Use "
            "a classification metric: 'accuracy', 'roc_auc', 'neg_log_loss', "
            "'neg_brier_score', or Keras's 'acc', 'AUC'."
        )


def _named_scorer(name, context):
    keras = KERAS_METRICS.get(name)
    if keras is not None and callable(keras.scorer):
        scorer = make_scorer(keras.scorer)  # an error itself, not negated
        scorer.lower_is_better = keras.lower_is_better
        return scorer
    name = name if keras is None else keras.scorer
    name = _AVERAGED.get((context, name), name)
    try:
        return get_scorer(name)
    except ValueError:
        known = sorted({*get_scorer_names(), *KERAS_METRICS})
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"metrics: {name!r} is neither a scikit-learn scorer name nor one "
            f"of Keras's metric names.{hint} sklearn.metrics.get_scorer_names() "
            "lists scikit-learn's; Keras's accepted spellings are "
            "nnestimators.training.metrics.KERAS_METRICS."
        ) from None


def _named(metrics):
    for metric in metrics:
        if isinstance(metric, str):
            yield keras_column(metric), metric
        elif callable(metric):
            yield _callable_name(metric), metric
        else:
            raise ValueError(
                f"metrics must hold scorer names or callables, got {metric!r}."
            )


def _callable_name(metric):
    # make_scorer(fbeta_score, ...) is named after its metric, "fbeta_score".
    score_func = getattr(metric, "_score_func", None)
    named = score_func if score_func is not None else metric
    return getattr(named, "__name__", type(metric).__name__)


class FrozenPredictions:
    """An estimator stand-in whose prediction methods return stored outputs.

    Parameters
    ----------
    tags : sklearn.utils.Tags
        The real estimator's tags, so scorers treat it as a classifier or a
        regressor.
    classes : ndarray or None
        Class codes ``0..k-1`` for classifiers; labels are scored as codes so
        that binary metrics always take the second class as positive.
    outputs : dict
        Method name (``"predict"``, ``"predict_proba"``,
        ``"decision_function"``) to its stored result.
    """

    def __init__(self, tags, classes, outputs):
        self._tags = tags
        self._outputs = outputs
        if classes is not None:
            self.classes_ = classes

    def __sklearn_tags__(self):
        return self._tags

    def __getattr__(self, name):
        outputs = self.__dict__.get("_outputs", {})
        if name not in outputs:
            raise AttributeError(name)

        def stored(X=None):
            return outputs[name]

        # scikit-learn tells predict_proba from decision_function by __name__.
        stored.__name__ = name
        return stored


def score_outputs(scorers, stand_in, y_true, sample_weight=None):
    """Return ``{name: score}``; a metric that cannot be computed gives NaN."""
    scores = {}
    for name, scorer in scorers.items():
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UserWarning)
                score = scorer(stand_in, None, y_true, sample_weight=sample_weight)
        except ValueError as exc:
            score, reason = np.nan, exc
        else:
            # scikit-learn returns NaN with a warning for some undefined
            # metrics (ROC-AUC with one class): say so once, in our words.
            reason = caught[-1].message if caught else "undefined"
        if np.isnan(score):
            warnings.warn(
                f"Metric {name!r} could not be computed this epoch "
                f"({reason}); recorded as NaN.",
                UserWarning,
                stacklevel=4,
            )
        scores[name] = float(score)
    return scores
