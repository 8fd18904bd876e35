"""Read-only views of the history: ``history_frame()`` and MLP's attribute names.

``history_frame()`` gives the history as a DataFrame, one row per epoch.

Code written against ``MLPClassifier`` reads ``n_iter_``, ``loss_curve_``,
``best_loss_``, ``validation_scores_`` and ``best_validation_score_`` after
fit. ``MLPAttributesMixin`` gives the three estimators the same names, read
from ``history_`` (one record per epoch), so nothing is stored twice and the
values follow ``warm_start`` and ``partial_fit``.

Before fit every attribute raises ``AttributeError``: ``hasattr`` is False
and scikit-learn's ``check_is_fitted`` (which only looks at the instance's
own attributes) is not fooled by the class-level properties.

``NNEstimator`` (``base.py``) includes the mixin: it is a read-only view of
the history, in scikit-learn's sense.
"""

import math

import pandas as pd
from sklearn.utils.validation import check_is_fitted

from .training.skorch_callbacks import is_alias

# Appended to the "Attributes" section of the estimators' docstrings.
MLP_ATTRIBUTES_DOC = """\
    n_iter_ : int
        Epochs trained, over the whole history (``warm_start`` and
        ``partial_fit`` continue it), so ``n_iter_ == len(loss_curve_)``.
    loss_curve_ : list of float
        Training loss of each epoch.
    loss_ : float
        Training loss of the last epoch.
    best_loss_ : float or None
        Smallest training loss; None when validation data was monitored,
        as in ``MLPClassifier(early_stopping=True)``: read
        ``best_validation_score_`` then.
    validation_scores_ : list of float or None
        Validation score of each epoch: the monitored metric when ``monitor``
        is a ``valid_<metric>`` score, else the first of ``metrics``
        (accuracy by default for classifiers). None without validation
        data or metrics.
    best_validation_score_ : float or None
        Highest of ``validation_scores_``, or None.
"""


def _rows(estimator, name):
    """The history's records; AttributeError (so ``hasattr`` is False) before fit."""
    history = estimator.__dict__.get("history_")
    if history is None:
        raise AttributeError(
            f"{type(estimator).__name__} has no attribute {name!r} before fit."
        )
    return list(history)


def _is_score_key(key):
    return (
        key.startswith("valid_")
        and key != "valid_loss"
        and not key.endswith(("_best", "_count"))
    )


class MLPAttributesMixin:
    """``MLPClassifier``'s fitted attributes, read from ``history_``.

    Differences from ``MLPClassifier``, on purpose:

    - ``n_iter_`` counts every epoch of the history. MLP restarts its count
      at each ``fit`` call under ``warm_start`` (while its ``loss_curve_``
      grows), and reports 1 after each ``partial_fit``; here
      ``n_iter_ == len(loss_curve_)`` always.
    - ``best_loss_`` is None whenever validation loss was recorded (a
      ``validation_fraction``, ``validation_data`` or ``train_split``), the
      case MLP has with ``early_stopping=True``.
    - ``validation_scores_`` holds the validation metric the estimator
      recorded (see ``MLP_ATTRIBUTES_DOC``), not necessarily accuracy or
      R^2; epochs without a validation pass (``partial_fit``) hold nan.
    """

    def history_frame(self):
        """Return the training history as a DataFrame, one row per epoch.

        Columns: ``epoch``, ``train_loss``, ``valid_loss`` (with validation
        data), ``train_<metric>`` and ``valid_<metric>`` for each metric,
        ``<key>_best``, ``lr`` and ``dur`` (seconds). skorch's ``valid_acc``,
        which repeats ``valid_accuracy`` in ``history_``, is left out.
        """
        check_is_fitted(self)
        rows = [
            {
                k: v
                for k, v in row.items()
                if k != "batches" and not k.endswith("_count") and not is_alias(k, row)
            }
            for row in self.history_
        ]
        return pd.DataFrame(rows)

    @property
    def n_iter_(self):
        """Number of epochs trained (the length of ``history_``)."""
        return len(_rows(self, "n_iter_"))

    @property
    def loss_curve_(self):
        """Training loss of each epoch, as a list of floats."""
        return [
            float(row["train_loss"])
            for row in _rows(self, "loss_curve_")
            if "train_loss" in row
        ]

    @property
    def loss_(self):
        """Training loss of the last epoch (None before the first epoch)."""
        _rows(self, "loss_")
        curve = self.loss_curve_
        return curve[-1] if curve else None

    @property
    def best_loss_(self):
        """Smallest training loss, or None when validation data was monitored."""
        rows = _rows(self, "best_loss_")
        if any("valid_loss" in row for row in rows):
            return None
        losses = [v for v in self.loss_curve_ if not math.isnan(v)]
        return min(losses) if losses else None

    def _validation_score_key(self):
        rows = _rows(self, "validation_scores_")
        recorded = []
        for row in rows:
            for key in row:
                if _is_score_key(key) and key not in recorded:
                    recorded.append(key)
        monitor = getattr(self, "monitor", None)
        if monitor in recorded:
            return monitor
        return recorded[0] if recorded else None

    @property
    def validation_scores_(self):
        """Validation score of each epoch (list of floats), or None."""
        key = self._validation_score_key()
        if key is None:
            return None
        return [
            float(row.get(key, math.nan)) for row in _rows(self, "validation_scores_")
        ]

    @property
    def best_validation_score_(self):
        """Highest validation score, or None when there are none."""
        _rows(self, "best_validation_score_")
        scores = self.validation_scores_
        if scores is None:
            return None
        finite = [s for s in scores if not math.isnan(s)]
        return max(finite) if finite else math.nan
