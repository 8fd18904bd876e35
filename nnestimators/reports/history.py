"""Finding the training history of an estimator, a Pipeline or a search."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..training.monitor import canonical_key
from .searches import is_search

# Columns of a history frame that are bookkeeping, not curves to plot.
_NON_CURVE_SUFFIXES = ("_best",)


def final_step(estimator):
    """Return the estimator that does the learning inside ``estimator``.

    Unwraps fitted searches (``best_estimator_``), unfitted searches
    (``estimator``), Pipelines (their last step) and
    ``sklearn.compose.TransformedTargetRegressor`` (``regressor_``),
    in any nesting.

    Parameters
    ----------
    estimator : estimator object
        An estimator, a Pipeline or a hyper-parameter search.

    Returns
    -------
    estimator : estimator object
        The innermost final estimator.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import Ridge
    >>> final_step(make_pipeline(StandardScaler(), Ridge()))
    Ridge()
    """
    while True:
        if isinstance(estimator, Pipeline):
            estimator = estimator.steps[-1][1]
        elif hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        elif isinstance(estimator, TransformedTargetRegressor):
            estimator = getattr(estimator, "regressor_", estimator.regressor)
        elif is_search(estimator):
            estimator = estimator.estimator
        else:
            return estimator


def has_history(estimator):
    """Whether the final step of ``estimator`` can record a training history.

    Parameters
    ----------
    estimator : estimator object
        An estimator, a Pipeline or a search.

    Returns
    -------
    bool

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> has_history(Ridge())
    False
    """
    return hasattr(final_step(estimator), "history_frame")


def history_of(estimator, caller="plot_history"):
    """Return the history frame and best epoch of a fitted estimator.

    Parameters
    ----------
    estimator : estimator object or pandas.DataFrame
        A fitted nnestimators estimator, a Pipeline or search ending in one,
        or a history DataFrame (then there is no best epoch).
    caller : str, default="plot_history"
        Name used in error messages.

    Returns
    -------
    history : pandas.DataFrame
        One row per epoch.
    best_epoch : int or None
        The estimator's ``best_epoch_``.

    Raises
    ------
    ValueError
        If the estimator records no history or is not fitted.
    """
    if isinstance(estimator, pd.DataFrame):
        if estimator.empty:
            raise ValueError(f"{caller} got an empty history DataFrame.")
        return estimator, None
    final = final_step(estimator)
    name = type(final).__name__
    if not hasattr(final, "history_frame"):
        raise ValueError(
            f"{name} records no training history; {caller} needs an "
            "nnestimators estimator, a Pipeline ending in one, or a history "
            "DataFrame."
        )
    not_fitted = ValueError(
        f"This {name} instance is not fitted yet. Call 'fit' with appropriate "
        f"arguments before using {caller}."
    )
    try:
        check_is_fitted(final)
        history = final.history_frame()
    except (NotFittedError, AttributeError):
        raise not_fitted from None
    if history is None or len(history) == 0:
        raise not_fitted
    return history, getattr(final, "best_epoch_", None)


def recorded_metrics(history):
    """Names of the metrics recorded in a history frame, loss excluded.

    A metric ``name`` is recorded when the frame has a numeric
    ``valid_<name>`` or ``train_<name>`` column.

    Parameters
    ----------
    history : pandas.DataFrame
        A history frame.

    Returns
    -------
    names : list of str
        In column order, without duplicates.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame(columns=["epoch", "train_loss", "valid_loss",
    ...                               "valid_accuracy", "lr"], dtype=float)
    >>> recorded_metrics(frame)
    ['accuracy']
    """
    names = []
    for column in history.columns:
        name = _curve_name(column)
        if (
            name
            and name != "loss"
            and name not in names
            and not name.endswith(_NON_CURVE_SUFFIXES)
            and is_numeric_dtype(history[column])
            and not is_bool_dtype(history[column])
        ):
            names.append(name)
    return names


def _curve_name(column):
    """``"accuracy"`` for ``"valid_accuracy"`` or ``"train_accuracy"``."""
    for prefix in ("train_", "valid_"):
        if isinstance(column, str) and column.startswith(prefix):
            return column[len(prefix) :]
    return None


def epochs_of(history):
    """The epoch numbers of a history frame (1, 2, ... without a column)."""
    if "epoch" in history.columns:
        return history["epoch"].to_numpy()
    return pd.RangeIndex(1, len(history) + 1).to_numpy()


def still_improving(estimator):
    """Whether a fitted estimator's training ended while it still improved.

    True when its last epoch was its best one: the ``<monitor>_best`` flag
    of the last row of the history, or, without that column, a validation
    (else training) loss lower than at every earlier epoch. Early stopping
    never ends a fit on its best epoch, so such a fit stopped at the
    ``max_epochs`` cap and more epochs would probably help.

    Parameters
    ----------
    estimator : estimator object or pandas.DataFrame
        A fitted nnestimators estimator (or Pipeline or search ending in
        one), or a history frame.

    Returns
    -------
    bool
        False too when the estimator records no history.

    Examples
    --------
    >>> import pandas as pd
    >>> still_improving(pd.DataFrame({"train_loss": [0.9, 0.5, 0.4]}))
    True
    >>> still_improving(pd.DataFrame({"valid_loss": [0.9, 0.5, 0.6]}))
    False
    """
    if not isinstance(estimator, pd.DataFrame) and not has_history(estimator):
        return False
    try:
        history, _ = history_of(estimator, caller="still_improving")
    except ValueError:
        return False
    monitor = getattr(final_step(estimator), "monitor", None)
    if isinstance(monitor, str):  # a Keras spelling names the recorded column
        monitor = canonical_key(monitor)
    flag = f"{monitor}_best"
    if monitor and flag in history.columns:
        last = history[flag].iloc[-1]
        return bool(pd.notna(last) and last)
    for column in ("valid_loss", "train_loss"):
        if column in history.columns:
            values = history[column].to_numpy(dtype=float)
            return bool(len(values) == 1 or values[-1] < values[:-1].min())
    return False


def ended_before_early_stopping(estimator):
    """Whether a fit with early stopping ended before its patience ran out.

    Early stopping ends a fit ``patience`` epochs after its best one; a fit
    that ended sooner ran into its ``max_epochs`` cap (the automatic one
    too) while the monitored value had improved within the last
    ``patience`` epochs: more epochs would probably help. A fit whose last
    epoch was its best (``still_improving``) is one such fit.

    Parameters
    ----------
    estimator : estimator object
        A fitted nnestimators estimator, or a Pipeline or search ending in
        one.

    Returns
    -------
    bool
        False too without early stopping (``patience=None``) or history.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> ended_before_early_stopping(Ridge())
    False
    """
    final = final_step(estimator)
    patience = getattr(final, "patience", None)
    best_epoch = getattr(final, "best_epoch_", None)
    if patience is None or best_epoch is None or not has_history(final):
        return False
    try:
        history, _ = history_of(final, caller="ended_before_early_stopping")
    except ValueError:
        return False
    last_epoch = int(epochs_of(history)[-1])
    return last_epoch - int(best_epoch) < int(patience)


# Readable names of the losses of torch.nn, by class name.
_LOSS_NAMES = {
    "MSELoss": "mean squared error",
    "L1Loss": "mean absolute error",
    "SmoothL1Loss": "smooth L1 loss",
    "HuberLoss": "Huber loss",
    "CrossEntropyLoss": "cross-entropy (nats)",
    "NLLLoss": "cross-entropy (nats)",
    "BCEWithLogitsLoss": "binary cross-entropy (nats)",
    "BCELoss": "binary cross-entropy (nats)",
}


def loss_label(estimator):
    """What the loss of a fitted estimator measures, and in which units.

    ``"mean squared error of the standardised target"`` for an
    ``NNRegressor`` that learns ``(y - mean) / std`` (1 is the target's
    variance), ``"cross-entropy (nats)"`` for classifiers, ``"loss"`` when
    unknown.

    Parameters
    ----------
    estimator : estimator object or pandas.DataFrame
        A fitted nnestimators estimator, or a Pipeline or search ending in
        one; a history frame gives ``"loss"``.

    Returns
    -------
    label : str

    Examples
    --------
    >>> import pandas as pd
    >>> loss_label(pd.DataFrame({"train_loss": [1.0]}))
    'loss'
    """
    if isinstance(estimator, pd.DataFrame):
        return "loss"
    final = final_step(estimator)
    criterion = getattr(final, "criterion", None)
    name = getattr(criterion, "__name__", type(criterion).__name__)
    label = _LOSS_NAMES.get(name, name if criterion is not None else "loss")
    scale = getattr(final, "target_scale_", None)
    mean = getattr(final, "target_mean_", None)
    if scale is None or mean is None:
        return label
    standardised = not (
        np.all(np.asarray(scale) == 1) and np.all(np.asarray(mean) == 0)
    )
    if name == "MSELoss":
        return (
            f"{label} of the standardised target (1 = the target's variance)"
            if standardised
            else f"{label} (units of y squared)"
        )
    return f"{label} of the standardised target" if standardised else label
