"""Per-epoch validation metrics from one forward pass.

scikit-learn scorers ask an estimator for predictions. Here they ask a
stand-in that answers from the outputs the validation pass already computed,
so each epoch runs the validation data through the network once, whatever
the number of metrics.
"""

import difflib
import warnings

import numpy as np
from sklearn.metrics import get_scorer, get_scorer_names


def make_scorers(metrics, context=None):
    """Return ``{name: scorer}`` from scorer names, scorer callables or a dict.

    Callables follow scikit-learn's scorer signature ``scorer(estimator, X, y)``
    (wrap a metric function with ``sklearn.metrics.make_scorer``) and are named
    after ``__name__``. ``context`` (``"multiclass"``, ``"multilabel"``, ...)
    adapts names that need it: ``"roc_auc"`` on a multiclass target is
    one-vs-rest (``"roc_auc_ovr"``), still recorded as ``roc_auc``.

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
            metric = _scorer_name(metric, context)
            scorers[name] = _get_scorer(metric)
        elif callable(metric):
            scorers[name] = metric
        else:
            raise ValueError(
                f"metrics must hold scorer names or callables, got {metric!r}."
            )
    return scorers


def _scorer_name(name, context):
    if context == "multiclass" and name == "roc_auc":
        return "roc_auc_ovr"
    return name


def _get_scorer(name):
    try:
        return get_scorer(name)
    except ValueError:
        close = difflib.get_close_matches(name, sorted(get_scorer_names()), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"metrics: {name!r} is not a scikit-learn scorer name.{hint} "
            "sklearn.metrics.get_scorer_names() lists them all."
        ) from None


def _named(metrics):
    for metric in metrics:
        if isinstance(metric, str):
            yield metric, metric
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
