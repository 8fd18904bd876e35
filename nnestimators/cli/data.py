"""The user's table: reading it, splitting off the target, deciding the task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .errors import CliError, first_line
from .models import INNER_FOLDS

# An integer target with at most this many distinct values is a class label.
MAX_CLASS_LEVELS = 20

READERS = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
}


def read_input(path):
    """The table and a short description of where it came from."""
    if path is None:
        return load_default_data(), "scikit-learn breast cancer data"
    return load_table(path), str(path)


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


def load_table(path):
    """Read a CSV or parquet file, turning every failure into a CliError.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.parquet`` or ``.pq`` file.

    Returns
    -------
    frame : pandas.DataFrame
        At least one row and two columns, with string column names.

    Raises
    ------
    CliError
        If the file is missing, of another type, empty or unreadable.

    Examples
    --------
    >>> load_table("houses.csv")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise CliError(f"--data file not found: {path}")
    if not path.is_file():
        raise CliError(f"--data must be a file; {path} is not")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise CliError(
            f"unsupported file type {path.suffix or path.name!r} for --data; "
            "use a .csv or .parquet file"
        )
    if path.stat().st_size == 0:
        raise CliError(f"--data file is empty: {path}")
    frame = _read_with(reader, path)
    if len(frame.columns) < 2 or len(frame) == 0:
        raise CliError(
            f"--data file {path} has {len(frame)} rows and {len(frame.columns)} "
            "columns; a report needs at least 1 row and 2 columns "
            "(features and a target)"
        )
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _read_with(reader, path):
    """Call ``reader(path)``; report unreadable files as a CliError."""
    try:
        return reader(path)
    except pd.errors.EmptyDataError:
        raise CliError(f"--data file is empty: {path}") from None
    except ImportError as error:
        raise CliError(
            f"reading {path.suffix} files needs an optional package: "
            f"{first_line(error)}"
        ) from None
    except (ValueError, OSError, TypeError) as error:
        # pandas' ParserError, UnicodeDecodeError and pyarrow's ArrowInvalid
        # are ValueErrors.
        raise CliError(f"could not read {path}: {first_line(error)}") from None


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
