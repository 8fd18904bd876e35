"""The user's table: where it comes from, its target, features and task.

Reading a ``--data`` file within bounded time and memory is in ``reading``
(with ``limits``, ``text_encoding`` and ``csv_layout``).
"""

from __future__ import annotations

import math

import numpy as np
from pandas.api.types import is_bool_dtype, is_integer_dtype, is_numeric_dtype

# READERS and sniff_delimiter: the package's names from before reading.py.
from .csv_layout import sniff_delimiter as sniff_delimiter
from .errors import CliError, shorten
from .limits import MAX_CELLS
from .models import INNER_FOLDS, MAX_CATEGORIES, VALIDATION_FRACTION
from .reading import READERS as READERS
from .reading import load_table

# An integer target with at most this many distinct values is a class label.
MAX_CLASS_LEVELS = 20

# Text columns are dropped when their values are identifiers: distinct in more
# than ID_SHARE of the rows (and more than MAX_CLASS_LEVELS of them), or when
# they have more than MAX_DISTINCT_TEXT distinct values. One-hot encoding them
# would add a column per value and learn nothing that generalises.
ID_SHARE = 0.5
MAX_DISTINCT_TEXT = 1000

# The most columns the features may have once text is one-hot encoded: the
# first layer of the "wide" preset then holds 25.6 million weights (about
# 400 MB with their gradients and the optimiser's state).
MAX_ENCODED_COLUMNS = 100_000

# Said when the default target, the last column, is empty: often a header
# line that ends with a delimiter.
DEFAULT_TARGET_HINT = (
    "; it is the last column, the default: choose the target with --target"
)

DEFAULT_DATA_NAME = "scikit-learn's built-in breast cancer data"


def read_input(path, say=print, encoding=None):
    """The table and a short description of where it came from.

    ``encoding`` is a CSV file's encoding; None detects it.
    """
    if path is None:
        if encoding is not None:
            raise CliError(
                "--encoding is for a --data CSV file; without --data the "
                "built-in data is used"
            )
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
    given = target is not None
    if not given:
        target = frame.columns[-1]
    elif target not in frame.columns:
        raise CliError(
            f"unknown target column {_quoted(target)}; available columns: "
            f"{_list_names(frame.columns)}"
        )
    missing = frame[target].isna()
    if missing.all():
        hint = "" if given else DEFAULT_TARGET_HINT
        raise CliError(f"the target column {_quoted(target)} has no values{hint}")
    if missing.any():
        say(f"Note: dropped {int(missing.sum())} rows with a missing target.")
        frame = frame.loc[~missing]
    return frame.drop(columns=target), frame[target], target


def select_features(X, drop=(), say=print, target=None):
    """Drop the ``--drop`` columns, empty columns and identifier-like text.

    A text (non-numeric) column is identifier-like when its distinct values
    number more than ``ID_SHARE`` of the rows and more than
    ``MAX_CLASS_LEVELS``, and of very high cardinality beyond
    ``MAX_DISTINCT_TEXT`` distinct values; one-hot encoding such a column
    makes one feature per value, which costs memory and generalises to
    nothing. A column without any value is dropped too (nothing can impute
    it), and so is a saved row index (an unnamed column of increasing
    integers). Each drop is announced through ``say``. The features kept, text
    one-hot encoded, must fit ``MAX_ENCODED_COLUMNS`` columns and
    ``MAX_CELLS`` values.

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
        If ``drop`` names an unknown column or the target, no feature
        column is left, or the encoded features would be too large.

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
            raise CliError(f"--drop {_quoted(name)} names the target column")
        if name not in X.columns:
            raise CliError(
                f"--drop names an unknown column {_quoted(name)}; available columns: "
                f"{_list_names(X.columns)}"
            )
    dropped = {name: "--drop" for name in drop}
    for column in X.columns:
        if column in dropped:
            continue
        if X[column].isna().all():
            dropped[column] = "no values"
        elif _is_saved_index(X[column]):
            dropped[column] = "no name and increasing row numbers, a saved index"
        elif not _is_numeric_feature(X[column]):
            reason = _identifier_reason(X[column])
            if reason:
                dropped[column] = reason
    for column, reason in dropped.items():
        if reason == "--drop":
            say(f"Note: dropped column {_quoted(column)} (--drop).")
        else:
            say(f"Note: dropped column {_quoted(column)}: {reason}.")
    kept = [column for column in X.columns if column not in dropped]
    if not kept:
        raise CliError(
            "no feature column is left after dropping "
            f"{_list_names(dropped)}; a report needs at least one"
        )
    ordered = {column: dropped[column] for column in X.columns if column in dropped}
    _check_encoded_size(X[kept])
    return X[kept], ordered


def _check_encoded_size(X):
    """Refuse features whose one-hot encoding would be too wide or too large.

    Each text column becomes at most ``MAX_CATEGORIES`` columns (the
    preprocessing's cap), one per distinct value below it.
    """
    width = 0
    for column in X.columns:
        if _is_numeric_feature(X[column]):
            width += 1
        else:
            width += min(_n_distinct(X[column].dropna()), MAX_CATEGORIES)
    cells = width * len(X)
    if width > MAX_ENCODED_COLUMNS or cells > MAX_CELLS:
        limit = (
            f"{MAX_ENCODED_COLUMNS:,} columns"
            if width > MAX_ENCODED_COLUMNS
            else f"{MAX_CELLS:,} values"
        )
        raise CliError(
            f"the features, text one-hot encoded, would be {len(X):,} rows x "
            f"{width:,} columns ({cells:,} values): more than the {limit} a "
            "report handles; --drop text columns with many values, or use a "
            "sample of the rows"
        )


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
    bad = [_quoted(column) for column in columns if _beyond_float32(X[column])]
    if task == "regression" and _beyond_float32(y):
        bad.append(f"{_quoted(target)} (the target)")
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
    n_distinct = _n_distinct(values)
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


def _is_saved_index(column):
    """The first column, unnamed in the header, holding row numbers.

    ``DataFrame.to_csv`` and R's ``write.csv`` write the row index first
    under an empty name, which pandas reads as "Unnamed: 0"; as a feature it
    would only tell the row's position.
    """
    return (
        column.name == "Unnamed: 0"
        and len(column) > 1
        and is_integer_dtype(column)
        and not is_bool_dtype(column)
        and column.is_monotonic_increasing
        and column.is_unique
    )


def _n_distinct(values):
    try:
        return values.nunique()
    except TypeError:  # unhashable values, e.g. lists from parquet
        return values.astype(str).nunique()


def _quoted(value):
    """``repr`` of a name or value from the file, short enough for one line."""
    return repr(shorten(str(value)))


def _list_names(names, limit=20):
    names = [shorten(str(name)) for name in names]
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
                f"--task regression needs a numeric target; column "
                f"{_quoted(target)} holds {y.dtype} values such as "
                f"{_quoted(y.iloc[0])}"
            )
        return "regression"
    if requested == "auto" and numeric and not _looks_like_labels(y):
        return "regression"
    n_classes = y.nunique()
    if n_classes < 2:
        raise CliError(
            f"the target column {_quoted(target)} has a single class "
            f"({_quoted(y.iloc[0])}); classification needs at least 2 classes"
        )
    if requested == "binary" and n_classes != 2:
        raise CliError(
            f"--task binary needs 2 classes; column {_quoted(target)} has {n_classes}"
        )
    if n_classes > MAX_CLASS_LEVELS and n_classes > ID_SHARE * len(y):
        raise CliError(
            f"the target column {_quoted(target)} has {n_classes:,} distinct "
            f"values in {len(y):,} rows: it looks like an identifier, not a "
            "label to learn; choose the target with --target"
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

    Every network holds out a share of its training rows for early stopping
    (``VALIDATION_FRACTION``, its ``validation_fraction``), and that share
    must hold 2 rows or more.

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
    if task != "regression":
        _check_class_sizes(y, cv, search)
    fraction = VALIDATION_FRACTION
    if not _holds_out_enough(_training_rows(len(y), cv, search), fraction):
        needed = len(y) + 1
        while not _holds_out_enough(_training_rows(needed, cv, search), fraction):
            needed += 1
        raise CliError(
            f"{len(y)} rows are too few for --cv {cv}"
            f"{' with --search' if search != 'none' else ''}: each network "
            f"trains on {_training_rows(len(y), cv, search)} rows and holds out "
            f"{fraction:.0%} of them, at least 2, for early stopping; use at "
            f"least {needed} rows"
        )


def _training_rows(n_rows, cv, search):
    """Rows of the smallest training part a network is fitted on."""
    # Test folds hold at most ceil(n / cv) rows, stratified or not.
    rows = n_rows - math.ceil(n_rows / cv)
    if search != "none":
        rows -= math.ceil(rows / INNER_FOLDS)
    return rows


def _holds_out_enough(n_rows, fraction):
    """The estimators' rule: 2 validation rows or more, 1 training row."""
    held_out = math.ceil(fraction * n_rows)
    return fraction == 0 or (held_out >= 2 and n_rows - held_out >= 1)


def _check_class_sizes(y, cv, search):
    """Every class needs a row in each fold (and inner fold of a search)."""
    counts = y.value_counts()
    smallest, label = int(counts.min()), counts.idxmin()
    if cv > smallest:
        raise CliError(
            f"--cv {cv} is larger than the smallest class ({_quoted(label)} has "
            f"{smallest} rows); use --cv {smallest} or fewer"
            if smallest >= 2
            else f"class {_quoted(label)} has a single row; every class needs at "
            "least 2 rows for cross-validation"
        )
    if search != "none" and smallest * (cv - 1) // cv < INNER_FOLDS:
        raise CliError(
            f"--search needs at least {INNER_FOLDS} rows of every class in each "
            f"training fold; class {_quoted(label)} has {smallest} rows in all"
        )
