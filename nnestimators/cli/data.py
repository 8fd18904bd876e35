"""The user's table: reading it, splitting off the target, deciding the task."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .errors import CliError, first_line
from .models import INNER_FOLDS

# An integer target with at most this many distinct values is a class label.
MAX_CLASS_LEVELS = 20

# Text columns are dropped when their values are identifiers: distinct in more
# than ID_SHARE of the rows (and more than MAX_CLASS_LEVELS of them), or when
# they have more than MAX_DISTINCT_TEXT distinct values. One-hot encoding them
# would add a column per value and learn nothing that generalises.
ID_SHARE = 0.5
MAX_DISTINCT_TEXT = 1000

# Delimiters a CSV file may use; the comma is preferred when it fits.
CSV_DELIMITERS = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}

READERS = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
}


DEFAULT_DATA_NAME = "scikit-learn's built-in breast cancer data"


def read_input(path, say=print):
    """The table and a short description of where it came from."""
    if path is None:
        return load_default_data(), DEFAULT_DATA_NAME
    return load_table(path, say), str(path)


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


def load_table(path, say=print):
    """Read a CSV or parquet file, turning every failure into a CliError.

    A CSV file's delimiter is detected: a comma, semicolon, tab or ``|``.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.parquet`` or ``.pq`` file.
    say : callable, default=print
        Where the note about a delimiter other than a comma goes.

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
    if reader is pd.read_csv:
        delimiter = sniff_delimiter(path)
        decimal = "."
        if delimiter != ",":
            decimal = _sniff_decimal(path, delimiter)
            how = " and decimal commas" if decimal == "," else ""
            say(
                f"Note: {path.name} uses {CSV_DELIMITERS[delimiter]} as delimiter{how}."
            )
        frame = _read_with(
            lambda p: pd.read_csv(p, sep=delimiter, decimal=decimal), path
        )
        _check_single_column(frame, path)
        _check_header(frame, path)
    else:
        frame = _read_with(reader, path)
    if len(frame.columns) < 2 or len(frame) == 0:
        raise CliError(
            f"--data file {path} has {len(frame)} rows and {len(frame.columns)} "
            "columns; a report needs at least 1 row and 2 columns "
            "(features and a target)"
        )
    frame.columns = [str(column) for column in frame.columns]
    return frame


def sniff_delimiter(path, sample_size=65536):
    """The delimiter of a CSV file: ``","``, ``";"``, ``"\\t"`` or ``"|"``.

    The comma wins when it splits the first lines into the same number (2 or
    more) of fields; otherwise ``csv.Sniffer`` decides among the others. A
    file that fits none is read with commas.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("a;b\\n1,5;2\\n")
    >>> sniff_delimiter(path)
    ';'
    """
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as file:
            sample = file.read(sample_size)
    except OSError:
        return ","
    lines = sample.splitlines()
    if len(sample) == sample_size and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = [line for line in lines[:50] if line.strip()]
    if not lines:
        return ","
    if _consistent_fields(lines, ","):
        return ","
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=";\t|,")
    except csv.Error:
        dialect = None
    if dialect is not None and dialect.delimiter in CSV_DELIMITERS:
        return dialect.delimiter
    for delimiter in (";", "\t", "|"):
        if _consistent_fields(lines, delimiter):
            return delimiter
    return ","


def _sniff_decimal(path, delimiter, n_lines=200):
    """``","`` when the first lines have more numbers read with decimal commas.

    Files separated by semicolons often come from locales that write
    ``40,5`` for 40.5.
    """
    import io

    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            sample = "".join(line for _, line in zip(range(n_lines), file))
        counts = {}
        for decimal in (".", ","):
            frame = pd.read_csv(io.StringIO(sample), sep=delimiter, decimal=decimal)
            counts[decimal] = sum(is_numeric_dtype(frame[c]) for c in frame.columns)
    except (OSError, ValueError):
        return "."
    return "," if counts[","] > counts["."] else "."


def _consistent_fields(lines, delimiter):
    """Whether ``delimiter`` splits every line into the same 2+ fields."""
    try:
        counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
    except csv.Error:
        return False
    return len(counts) == 1 and counts.pop() >= 2


def _check_single_column(frame, path):
    """A one-column table whose header holds a delimiter was read wrongly."""
    if len(frame.columns) != 1:
        return
    header = str(frame.columns[0])
    for delimiter, name in CSV_DELIMITERS.items():
        if delimiter != "," and delimiter in header:
            raise CliError(
                f"--data file {path} was read as a single column, but its "
                f"header holds {name}: the file seems to use {name} as "
                "delimiter, with rows of unequal length; save it with "
                "commas (,) as delimiter"
            )


def _check_header(frame, path):
    """Refuse a CSV file whose first line is data: its first row would be lost."""
    names = [str(column) for column in frame.columns]
    if all(_looks_numeric(name) for name in names):
        raise CliError(
            f"the first line of {path} holds numbers ({', '.join(names[:5])}"
            f"{', ...' if len(names) > 5 else ''}), not column names; add a "
            "header line naming the columns"
        )


def _looks_numeric(name):
    # pandas renames a repeated name: a second "0" becomes "0.1".
    return _is_number(name) or _is_number(name.rsplit(".", 1)[0])


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


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
