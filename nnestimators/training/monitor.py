"""Which epoch is best: the monitored value, its direction and patience."""

import math
from collections.abc import Mapping

from .metrics import KERAS_METRICS, keras_column

# Recorded keys whose smaller values are better; everything else is a score.
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse")


def lower_is_better(key, scores=(), callbacks=()):
    """Whether smaller values of the history key ``key`` are better.

    Parameters
    ----------
    key : str
        A history key, e.g. ``"valid_loss"`` or ``"valid_rmse"``.
    scores : iterable of str or dict, default=()
        Names of the ``metrics``, or ``{name: scorer}``: their keys
        (``train_<name>``, ``valid_<name>``) hold scikit-learn scores, which
        are maximised whatever the name says (``max_error`` is negated by
        its scorer, a name such as ``"rmse"`` may hold
        ``neg_root_mean_squared_error``), unless the scorer says
        ``lower_is_better`` (Keras's errors, ``metrics=["mse"]``).
    callbacks : iterable, default=()
        Callbacks (or ``(name, callback)`` pairs): a skorch scoring callback
        named ``key`` says the direction with its ``lower_is_better``.

    Other keys go by their name: losses and errors are minimised.
    """
    scorers = scores if isinstance(scores, Mapping) else dict.fromkeys(scores)
    for prefix in ("train_", "valid_"):
        name = key[len(prefix) :]
        if key.startswith(prefix) and name in scorers:
            return getattr(scorers[name], "lower_is_better", False) is True
    for item in callbacks:
        callback = item[1] if isinstance(item, tuple) else item
        direction = getattr(callback, "lower_is_better", None)
        if getattr(callback, "name", None) == key and isinstance(direction, bool):
            return direction
    name = key.lower()
    if "neg_" in name:
        return False
    return any(part in name for part in _LOWER_IS_BETTER)


# Keras's names for the losses this package records.
_KERAS_LOSSES = {"loss": "train_loss", "val_loss": "valid_loss"}


def canonical_key(key):
    """The history key a monitor name means; Keras's spellings are accepted.

    ``"val_loss"`` is ``"valid_loss"``, ``"loss"`` is ``"train_loss"``,
    ``"val_<metric>"`` is ``"valid_<metric>"``, and a metric in Keras's
    spelling is the column ``metrics`` records it under
    (``metrics.KERAS_METRICS``, the one table for both): ``"acc"`` is
    ``"train_accuracy"``, ``"val_acc"`` ``"valid_accuracy"``, ``"val_AUC"``
    ``"valid_auc"``.
    """
    key = str(key)
    if key in _KERAS_LOSSES:
        return _KERAS_LOSSES[key]
    if key in KERAS_METRICS:
        return f"train_{keras_column(key)}"
    if key.startswith("val_"):
        return f"valid_{keras_column(key[len('val_') :])}"
    return key


class Monitor:
    """Track the best value of one history key across epochs.

    Parameters
    ----------
    key : str
        History key, e.g. ``"valid_loss"`` or ``"valid_roc_auc"``.
    min_delta : float
        Smallest change that counts as an improvement.
    lower : bool or None
        Whether smaller values are better; None infers it from the key's
        name (see ``lower_is_better``).
    """

    def __init__(self, key, min_delta=0.0, lower=None):
        self.key = key
        self.min_delta = abs(min_delta)
        self.lower_is_better = lower_is_better(key) if lower is None else lower
        self.best_value = None
        self.best_epoch = None
        self.epochs_without_improvement = 0

    @classmethod
    def from_history(cls, history, key, min_delta=0.0, lower=None):
        """Rebuild the tracking state of a fit that is being continued."""
        monitor = cls(key, min_delta, lower)
        for row in history:
            if key in row:
                monitor.update(row["epoch"], row[key])
        return monitor

    def update(self, epoch, value):
        """Take this epoch's value and return whether it is a new best."""
        value = float(value)
        if math.isnan(value):
            improved = False
        elif self.best_value is None:
            improved = True
        elif self.lower_is_better:
            improved = value < self.best_value - self.min_delta
        else:
            improved = value > self.best_value + self.min_delta
        if improved:
            self.best_value, self.best_epoch = value, epoch
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return improved
