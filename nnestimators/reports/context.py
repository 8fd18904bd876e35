"""What a report says about its data, model and folds, in a few words."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .formatting import format_count, format_number

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


def ordered_context(context):
    """``context`` in the report's order: data, rows, features, ..., folds."""
    rank = {key: number for number, key in enumerate(_CONTEXT_ORDER)}
    keys = sorted(context, key=lambda key: rank.get(key, len(rank)))
    return {key: context[key] for key in keys}


def default_context(report, X, y, random_state):
    """The report's own description of its data, model and folds."""
    n_rows, n_features = np.shape(X)[0], (np.shape(X)[1] if np.ndim(X) > 1 else 1)
    features = format_count(n_features)
    if np.ndim(X) in (3, 4) and not isinstance(X, pd.DataFrame):
        # Images, (n, H, W) or (n, C, H, W): say their shape, not one axis.
        *channels, height, width = np.shape(X)[1:]
        count = channels[0] if channels else 1
        features = f"images of {height}x{width} pixels, {count} channel(s)"
    if isinstance(X, pd.DataFrame):
        numeric = sum(
            is_numeric_dtype(X[c]) and not is_bool_dtype(X[c]) for c in X.columns
        )
        categorical = format_count(n_features - numeric)
        features += f" ({format_count(numeric)} numeric, {categorical} categorical)"
    context = {
        "Rows": format_count(n_rows),
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
    shown = ", ".join(
        f"{label} {format_count(count)}" for label, count in zip(labels, counts)
    )
    return f"{task}: {shown}"


def describe_splitter(splitter, n_splits, random_state=None):
    """``"5 folds, StratifiedKFold, shuffled with seed 0"``."""
    text = f"{n_splits} folds, {type(splitter).__name__}"
    if getattr(splitter, "shuffle", False):
        seed = getattr(splitter, "random_state", random_state)
        text += " (shuffled" + (f", seed {seed})" if seed is not None else ")")
    return text
