"""The user's table: where it comes from, its target, features and task.

Reading a ``--data`` file within bounded time and memory is in ``reading``.
"""

from __future__ import annotations

import numpy as np
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .errors import CliError
from .models import INNER_FOLDS

# READERS and sniff_delimiter: the package's names from before reading.py.
from .reading import READERS as READERS
from .reading import load_table
from .reading import sniff_delimiter as sniff_delimiter

# An integer target with at most this many distinct values is a class label.
MAX_CLASS_LEVELS = 20

# Text columns are dropped when their values are identifiers: distinct in more
# than ID_SHARE of the rows (and more than MAX_CLASS_LEVELS of them), or when
# they have more than MAX_DISTINCT_TEXT distinct values. One-hot encoding them
# would add a column per value and learn nothing that generalises.
ID_SHARE = 0.5
MAX_DISTINCT_TEXT = 1000


DEFAULT_DATA_NAME = "scikit-learn's built-in breast cancer data"


def read_input(path, say=print, encoding=None):
    """The table and a short description of where it came from.

    ``encoding`` is a CSV file's encoding; None detects it.
    """
    if path is None:
        return load_default_data(), DEFAULT_DATA_NAME
    return load_table(path, say, encoding), str(path)


def load_default_data():
    """scikit-learn's breast cancer data with its class names as target.

    Returns
    -------
    frame : pandas.DataFrame
        30 numeric columns and a ``diagnosis`` column holding "benign" or
        "malignant" (the positive class, as the greater label).

    Examples
    --------
    >>> load_default_data()["diagnosis"].value_counts().to_dict()
    {'benign': 357, 'malignant': 212}
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["diagnosis"] = bunch.target_names[bunch.target.to_numpy()]
    return frame


def split_target(frame, target, say=print):
    """Split a table into features and target, dropping rows without target.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    target : str or None
        The target column; the last column when None.
    say : callable, default=print
        Where the note about dropped rows goes.

    Returns
    -------
    X : pandas.DataFrame
    y : pandas.Series
    target : str

    Raises
    ------
    CliError
        If the column does not exist or holds no value.

    Examples
    --------
    >>> import pandas as pd
    >>> X, y, name = split_target(pd.DataFrame({"a": [1, 2], "b": [0, 1]}), None)
    >>> name
    'b'
    """
    if target is None:
        target = frame.columns[-1]
    elif target not in frame.columns:
        raise CliError(
            f"unknown target column {target!r}; available columns: "
            f"{_list_names(frame.columns)}"
        )
    missing = frame[target].isna()
    if missing.all():
        raise CliError(f"the target column {target!r} has no values")
    if missing.any():
        say(f"Note: dropped {int(missing.sum())} rows with a missing target.")
        frame = frame.loc[~missing]
    return frame.drop(columns=target), frame[target], target


def select_features(X, drop=(), say=print, target=None):
    """Drop the ``--drop`` columns and the identifier-like text columns.

    A text (non-numeric) column is identifier-like when its distinct values
    number more than ``ID_SHARE`` of the rows and more than
    ``MAX_CLASS_LEVELS``, and of very high cardinality beyond
    ``MAX_DISTINCT_TEXT`` distinct values; one-hot encoding such a column
    makes one feature per value, which costs memory and generalises to
    nothing. Each drop is announced through ``say``.

    Parameters
    ----------
    X : pandas.DataFrame
        The features.
    drop : sequence of str, default=()
        Columns to drop by name (the ``--drop`` option).
    say : callable, default=print
        Where the notes go.
    target : str, default=None
        The target's name, for the message when ``drop`` names it.

    Returns
    -------
    X : pandas.DataFrame
        The features kept.
    dropped : dict of str to str
        Dropped column -> the reason, in column order.

    Raises
    ------
    CliError
        If ``drop`` names an unknown column or the target, or no feature
        column is left.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"id": [f"u{i}" for i in range(30)], "x": range(30)})
    >>> kept, dropped = select_features(X, say=lambda text: None)
    >>> list(kept.columns), list(dropped)
    (['x'], ['id'])
    """
    drop = list(dict.fromkeys(drop or ()))
    for name in drop:
        if name == target:
            raise CliError(f"--drop {name!r} names the target column")
        if name not in X.columns:
            raise CliError(
                f"--drop names an unknown column {name!r}; available columns: "
                f"{_list_names(X.columns)}"
            )
    dropped = {name: "--drop" for name in drop}
    for column in X.columns:
        if column in dropped or _is_numeric_feature(X[column]):
            continue
        reason = _identifier_reason(X[column])
        if reason:
            dropped[column] = reason
    for column, reason in dropped.items():
        if reason == "--drop":
            say(f"Note: dropped column {column!r} (--drop).")
        else:
            say(f"Note: dropped column {column!r}: {reason}.")
    kept = [column for column in X.columns if column not in dropped]
    if not kept:
        raise CliError(
            "no feature column is left after dropping "
            f"{_list_names(dropped)}; a report needs at least one"
        )
    ordered = {column: dropped[column] for column in X.columns if column in dropped}
    return X[kept], ordered


def check_finite(X, y, task, target="target"):
    """Refuse infinite values, and values beyond float32, which the network uses.

    Missing values are fine (the preprocessing imputes them); ``inf`` or
    ``1e300`` would only fail inside training, without the column's name.

    Raises
    ------
    CliError
        Naming the columns that hold such values.
    """
    columns = [column for column in X.columns if _is_numeric_feature(X[column])]
    bad = [repr(str(column)) for column in columns if _beyond_float32(X[column])]
    if task == "regression" and _beyond_float32(y):
        bad.append(f"{str(target)!r} (the target)")
    if bad:
        raise CliError(
            f"column(s) {_list_names(bad)} hold infinite values or values beyond "
            f"{FLOAT32_MAX:.3g} in magnitude, which the network cannot use; fix or "
            "--drop them"
        )


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _beyond_float32(column):
    values = column.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return bool(np.any(np.abs(values) > FLOAT32_MAX))


def _is_numeric_feature(column):
    return is_numeric_dtype(column) and not is_bool_dtype(column)


def _identifier_reason(column):
    """Why a text column is useless as categories, or None if it is not."""
    values = column.dropna()
    if len(values) == 0:
        return None
    try:
        n_distinct = values.nunique()
    except TypeError:  # unhashable values, e.g. lists from parquet
        n_distinct = values.astype(str).nunique()
    if n_distinct > MAX_CLASS_LEVELS and n_distinct > ID_SHARE * len(values):
        return (
            f"identifier-like, {n_distinct:,} distinct values in {len(values):,} rows"
        )
    if n_distinct > MAX_DISTINCT_TEXT:
        return (
            f"too many categories, {n_distinct:,} distinct values "
            f"(more than {MAX_DISTINCT_TEXT:,})"
        )
    return None


def _list_names(names, limit=20):
    names = [str(name) for name in names]
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


def decide_task(y, requested, target="target"):
    """The task for target ``y``: the requested one, checked, or inferred.

    Text, booleans and integer values with at most 20 levels are classes;
    other numbers make a regression.

    Parameters
    ----------
    y : pandas.Series
        The target, without missing values.
    requested : {"auto", "binary", "multiclass", "regression"}
        The ``--task`` option.
    target : str, default="target"
        Column name used in messages.

    Returns
    -------
    task : {"binary", "multiclass", "regression"}

    Raises
    ------
    CliError
        If the target cannot support the task.

    Examples
    --------
    >>> import pandas as pd
    >>> decide_task(pd.Series(["a", "b", "a"]), "auto")
    'binary'
    >>> decide_task(pd.Series([0.5, 1.25, 3.0]), "auto")
    'regression'
    """
    numeric = is_numeric_dtype(y) and not is_bool_dtype(y)
    if requested == "regression":
        if not numeric:
            raise CliError(
                f"--task regression needs a numeric target; column {target!r} "
                f"holds {y.dtype} values such as {y.iloc[0]!r}"
            )
        return "regression"
    if requested == "auto" and numeric and not _looks_like_labels(y):
        return "regression"
    n_classes = y.nunique()
    if n_classes < 2:
        raise CliError(
            f"the target column {target!r} has a single class ({y.iloc[0]!r}); "
            "classification needs at least 2 classes"
        )
    if requested == "binary" and n_classes != 2:
        raise CliError(
            f"--task binary needs 2 classes; column {target!r} has {n_classes}"
        )
    return "binary" if n_classes == 2 else "multiclass"


def _looks_like_labels(y):
    """Integer values (even stored as floats) with few distinct levels."""
    return _is_integral(y) and y.nunique() <= MAX_CLASS_LEVELS


def _is_integral(y):
    values = y.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def target_values(y, task):
    """The target as an array: floats for regression, labels otherwise."""
    if task == "regression":
        return y.to_numpy(dtype=np.float32)
    if is_bool_dtype(y):
        return y.to_numpy(dtype=bool)
    if is_numeric_dtype(y) and _is_integral(y):
        # 0.0/1.0 read from a CSV with gaps are integer labels.
        return y.to_numpy(dtype=float).astype(np.int64)
    # Text labels; also objects of mixed types, which scikit-learn cannot sort.
    return y.astype(str).to_numpy(dtype=object)


def check_folds(y, task, cv, search):
    """Check there are enough rows (per class) for ``cv`` folds.

    Parameters
    ----------
    y : pandas.Series
        The target.
    task : {"binary", "multiclass", "regression"}
        The task.
    cv : int
        Number of folds.
    search : {"none", "grid", "random"}
        The ``--search`` option; a search splits every training part again.

    Raises
    ------
    CliError
        If a fold would miss a class or the data is too small.
    """
    if cv > len(y):
        raise CliError(f"--cv {cv} is larger than the number of rows ({len(y)})")
    if task == "regression":
        return
    counts = y.value_counts()
    smallest, label = int(counts.min()), counts.idxmin()
    if cv > smallest:
        raise CliError(
            f"--cv {cv} is larger than the smallest class ({label!r} has "
            f"{smallest} rows); use --cv {smallest} or fewer"
            if smallest >= 2
            else f"class {label!r} has a single row; every class needs at "
            "least 2 rows for cross-validation"
        )
    if search != "none" and smallest * (cv - 1) // cv < INNER_FOLDS:
        raise CliError(
            f"--search needs at least {INNER_FOLDS} rows of every class in each "
            f"training fold; class {label!r} has {smallest} rows in all"
        )
