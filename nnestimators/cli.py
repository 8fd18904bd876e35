"""The ``nnestimators`` command line.

Run ``nnestimators report --help`` for the options. Input problems are
reported on one line, ``nnestimators: error: ...``, with exit status 2.

Examples
--------
From a shell::

    nnestimators report --max-epochs 20 --cv 3
    nnestimators report --data houses.csv --target price --out houses-report
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

PROG = "nnestimators"

# Hidden layers of the --model presets; "linear" has none, so the network is
# a logistic (or linear) regression trained by gradient descent.
MODEL_PRESETS = {
    "mlp": (64,),
    "linear": (),
    "wide": (256, 128),
}

# Metrics recorded per epoch by the estimators the command builds.
EPOCH_METRICS = {
    "binary": ["accuracy", "roc_auc"],
    "multiclass": ["accuracy"],
    "regression": ["r2"],
}

# What the hyper-parameter search optimises.
SEARCH_SCORING = {
    "binary": "roc_auc",
    "multiclass": "accuracy",
    "regression": "neg_root_mean_squared_error",
}
SEARCH_GRID = {
    "lr": [1e-3, 3e-3, 1e-2],
    "module__hidden_units": [(64,), (128, 64)],
}
RANDOM_SEARCH_ITERATIONS = 6
INNER_FOLDS = 3

# An integer target with at most this many distinct values is a class label.
MAX_CLASS_LEVELS = 20

READERS = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
}

DEFAULT_OUT = "nnestimators-report"

REPORT_DESCRIPTION = """\
Cross-validate a neural network on a table and write a report (HTML page,
CSV and JSON tables, PNG figures).

Without --data, the breast cancer data set shipped with scikit-learn is used
(binary: malignant or benign, 569 rows, 30 numeric columns).

With --data, numeric columns are imputed with their median and standardised;
other columns (text, categories, booleans) are imputed with their most
frequent value and one-hot encoded. Rows with a missing target are dropped.
The task is inferred from the target: text, booleans or integers with at most
20 distinct values are classes, other numbers are a regression target.

The network is NNBinaryClassifier, NNClassifier or NNRegressor with 10% of
each training fold held out for early stopping (patience 10).
"""

REPORT_EPILOG = """\
model presets (--model):
  mlp      one hidden layer of 64 units (default)
  linear   no hidden layer: logistic or linear regression
  wide     two hidden layers of 256 and 128 units

hyper-parameter search (--search), nested inside the cross-validation: in
every outer fold, a 3-fold search on the training part picks the parameters,
refits and is scored on the held-out part, so the reported scores are not
biased by the search. The best parameters of every fold are printed.
  grid     lr in {0.001, 0.003, 0.01} x hidden units in {(64,), (128, 64)}
  random   6 draws: lr log-uniform in [1e-4, 3e-2], hidden units in
           {(64,), (128, 64), (256, 128)}
  The search overrides the hidden units of --model.

parallel runs: --scheduler ADDRESS uses a running Dask scheduler, --dask local
starts a local cluster (processes, 127.0.0.1, no dashboard); the folds then
run in parallel through joblib's "dask" backend. Needs
pip install "nnestimators[dask]".

examples:
  nnestimators report --max-epochs 20 --cv 3
  nnestimators report --data houses.csv --target price --model wide
  nnestimators report --data churn.parquet --search grid --dask local
"""


class CliError(Exception):
    """An input problem, reported on one line with exit status 2."""


class RunError(Exception):
    """A failure while training, reported on one line with exit status 1."""


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, not usage and error."""

    def error(self, message):
        raise CliError(f"{message} (see '{self.prog} --help')")


def main(argv=None):
    """Run the ``nnestimators`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        0 on success, 2 for invalid input, 1 when training fails, 130 when
        interrupted.

    Examples
    --------
    >>> main(["report", "--max-epochs", "5", "--cv", "3"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    try:
        args = _parse(parser, argv)
        return args.handler(args)
    except CliError as error:
        _print_error(error)
        return 2
    except RunError as error:
        _print_error(error)
        return 1
    except SystemExit as done:
        # --help and --version exit through argparse; return their status.
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into a program that stopped reading, e.g. ``head``.
        _silence_stdout()
        return 1


def _silence_stdout():
    """Point stdout at devnull so Python's final flush raises nothing."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _parse(parser, argv):
    """Parse ``argv``; unknown options point to the sub-command's help."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise CliError(
            f"unrecognized arguments: {' '.join(unknown)} "
            f"(see '{PROG} {args.command} --help')"
        )
    return args


def _print_error(error):
    """Print ``error`` as a single line on stderr."""
    message = " ".join(str(error).split())
    print(f"{PROG}: error: {message}", file=sys.stderr)


def build_parser():
    """Build the argument parser with its sub-commands.

    Returns
    -------
    parser : argparse.ArgumentParser

    Examples
    --------
    >>> build_parser().parse_args(["report", "--cv", "3"]).cv
    3
    """
    parser = _ArgumentParser(
        prog=PROG,
        description="PyTorch modules as scikit-learn estimators: command line tools.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    _add_report_command(commands)
    return parser


def _version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{PROG} {version(PROG)}"
    except PackageNotFoundError:
        return f"{PROG} (not installed)"


def _add_report_command(commands):
    report = commands.add_parser(
        "report",
        help="cross-validate a network on a table and write a report",
        description=REPORT_DESCRIPTION,
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "--data",
        metavar="FILE",
        help="a .csv or .parquet table (default: scikit-learn's breast cancer data)",
    )
    report.add_argument(
        "--target", metavar="COL", help="the target column (default: the last one)"
    )
    report.add_argument(
        "--task",
        choices=["auto", "binary", "multiclass", "regression"],
        default="auto",
        help="the learning task (default: inferred from the target)",
    )
    report.add_argument(
        "--model",
        choices=sorted(MODEL_PRESETS),
        default="mlp",
        help="network preset, see below (default: mlp)",
    )
    report.add_argument(
        "--cv",
        type=_fold_count,
        default=5,
        metavar="K",
        help="number of cross-validation folds, at least 2 (default: 5)",
    )
    report.add_argument(
        "--search",
        choices=["none", "grid", "random"],
        default="none",
        help="nested hyper-parameter search, see below (default: none)",
    )
    report.add_argument(
        "--max-epochs",
        type=_epochs,
        default="auto",
        metavar="N",
        help="most training epochs per fit, a positive integer or 'auto' "
        "(default: auto)",
    )
    report.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"directory the report is written to (default: ./{DEFAULT_OUT}/)",
    )
    report.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="N",
        help="random seed of the folds, the search and the networks (default: 0)",
    )
    parallel = report.add_mutually_exclusive_group()
    parallel.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run in parallel on a running Dask scheduler, e.g. tcp://host:8786",
    )
    parallel.add_argument(
        "--dask",
        choices=["local"],
        help="run in parallel on a local Dask cluster started for this run",
    )
    report.add_argument(
        "--quiet",
        action="store_true",
        help="print only the report directory and errors",
    )
    report.set_defaults(handler=run_report)


def _positive_int(text, minimum=1):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= {minimum}; got {text!r}"
        )
    return value


def _fold_count(text):
    return _positive_int(text, minimum=2)


def _seed(text):
    return _positive_int(text, minimum=0)


def _epochs(text):
    return "auto" if text == "auto" else _positive_int(text)


# ---------------------------------------------------------------------------
# The report command
# ---------------------------------------------------------------------------


def run_report(args):
    """Run ``nnestimators report`` with parsed arguments.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options.

    Returns
    -------
    status : int
        0; input problems raise CliError, training failures RunError.
    """
    say = _printer(args.quiet)
    frame, source = _read_input(args.data)
    X, y, target = split_target(frame, args.target, say)
    task = decide_task(y, args.task, target)
    check_folds(y, task, args.cv, args.search)
    say(
        f"Data: {source}, {len(X)} rows, {X.shape[1]} feature columns, "
        f"target {target!r} ({_describe_target(y, task)})"
    )
    model = build_model(task, X, args)
    out = _prepare_out_dir(args.out)

    from .reports import cross_validated_report

    say(f"Model: {_describe_model(model, args)}")
    say(f"Cross-validating with {args.cv} folds...")
    started = time.perf_counter()
    with _parallel_backend(args, model, say) as n_jobs:
        try:
            report = cross_validated_report(
                model,
                X,
                _target_values(y, task),
                cv=args.cv,
                task=task,
                n_jobs=n_jobs,
                random_state=args.seed,
            )
        except (ValueError, ArithmeticError) as error:
            # ArithmeticError covers nnestimators' TrainingDivergedError.
            raise RunError(f"training failed: {_first_line(error)}") from None
    say(f"Done in {time.perf_counter() - started:.1f} s.\n")
    say(str(report))
    if args.search != "none":
        _print_best_params(report, say)
    paths = report.save(out)
    say("\nWrote:")
    for path in paths.values():
        say(f"  {path}")
    if args.quiet:
        print(out)
    return 0


def _printer(quiet):
    """``print`` to stdout, or a no-op when quiet."""
    if quiet:
        return lambda *args, **kwargs: None
    return lambda *args, **kwargs: print(*args, **kwargs, flush=True)


def _read_input(path):
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
            f"{_first_line(error)}"
        ) from None
    except (ValueError, OSError, TypeError) as error:
        # pandas' ParserError, UnicodeDecodeError and pyarrow's ArrowInvalid
        # are ValueErrors.
        raise CliError(f"could not read {path}: {_first_line(error)}") from None


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


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


def _describe_target(y, task):
    if task == "regression":
        return f"regression, mean {y.mean():.4g}, std {y.std():.4g}"
    counts = ", ".join(f"{label}: {n}" for label, n in y.value_counts().items())
    return f"{task}, {counts}"


def _target_values(y, task):
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


def build_model(task, X, args):
    """The preprocessing and network pipeline, inside a search if asked.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        The task.
    X : pandas.DataFrame
        The features, to pick numeric and categorical columns.
    args : argparse.Namespace
        Options ``model``, ``max_epochs``, ``seed`` and ``search``.

    Returns
    -------
    model : Pipeline or search estimator
    """
    from sklearn.pipeline import Pipeline

    network = make_network(task, args.model, args.max_epochs, args.seed)
    model = Pipeline([("preprocess", make_preprocessor(X)), ("model", network)])
    if args.search == "none":
        return model
    return make_search(model, task, args.search, args.seed)


def make_preprocessor(X):
    """Impute and scale numeric columns, impute and one-hot encode the rest.

    Parameters
    ----------
    X : pandas.DataFrame
        The features.

    Returns
    -------
    preprocessor : sklearn.compose.ColumnTransformer
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = _numeric_columns(X)
    categorical = [column for column in X.columns if column not in numeric]
    transformers = []
    if numeric:
        scale = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        transformers.append(("numeric", scale, numeric))
    if categorical:
        encode = make_pipeline(
            # Mixed or boolean values become text so the encoder can sort them.
            FunctionTransformer(_as_text_categories, feature_names_out="one-to-one"),
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
        transformers.append(("categorical", encode, categorical))
    return ColumnTransformer(transformers)


def _numeric_columns(X):
    return [
        column
        for column in X.columns
        if is_numeric_dtype(X[column]) and not is_bool_dtype(X[column])
    ]


def _as_text_categories(frame):
    """Categories as Python strings, missing values as NaN (object array)."""
    frame = pd.DataFrame(frame)
    text = frame.astype(str).astype(object)
    return text.where(frame.notna().to_numpy(), np.nan).to_numpy(dtype=object)


def estimator_class(task):
    """The nnestimators estimator class for ``task``."""
    from . import NNBinaryClassifier, NNClassifier, NNRegressor

    return {
        "binary": NNBinaryClassifier,
        "multiclass": NNClassifier,
        "regression": NNRegressor,
    }[task]


def make_network(task, preset, max_epochs, seed):
    """The network estimator for ``task`` with a ``--model`` preset.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        The task.
    preset : {"mlp", "linear", "wide"}
        Key of :data:`MODEL_PRESETS`.
    max_epochs : int or "auto"
        Most epochs per fit.
    seed : int
        Random state of the network.

    Returns
    -------
    estimator : NNBinaryClassifier, NNClassifier or TransformedTargetRegressor
        A regression network learns a standardised target, through a
        :class:`~sklearn.compose.TransformedTargetRegressor`: targets in the
        hundreds would otherwise need many epochs just to reach their scale.
    """
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    network = estimator_class(task)(
        module__hidden_units=MODEL_PRESETS[preset],
        max_epochs=max_epochs,
        validation_fraction=0.1,
        patience=10,
        metrics=list(EPOCH_METRICS[task]),
        random_state=seed,
        verbose=0,
    )
    if task != "regression":
        return network
    return TransformedTargetRegressor(regressor=network, transformer=StandardScaler())


def _network_param(task, name):
    """The pipeline parameter name of the network's parameter ``name``."""
    return f"model__regressor__{name}" if task == "regression" else f"model__{name}"


def make_search(model, task, kind, seed):
    """Wrap ``model`` in a grid or randomised search over lr and hidden units.

    Parameters
    ----------
    model : Pipeline
        Pipeline whose network step is named ``"model"``.
    task : {"binary", "multiclass", "regression"}
        Picks the score optimised.
    kind : {"grid", "random"}
        The search.
    seed : int
        Seed of the inner folds and of the random draws.

    Returns
    -------
    search : GridSearchCV or RandomizedSearchCV
    """
    from scipy.stats import loguniform
    from sklearn.model_selection import (
        GridSearchCV,
        KFold,
        RandomizedSearchCV,
        StratifiedKFold,
    )

    splitter = KFold if task == "regression" else StratifiedKFold
    inner = splitter(n_splits=INNER_FOLDS, shuffle=True, random_state=seed)
    # A diverging candidate scores NaN and loses; it does not stop the search.
    common = {"cv": inner, "scoring": SEARCH_SCORING[task]}
    if kind == "grid":
        grid = {_network_param(task, name): v for name, v in SEARCH_GRID.items()}
        return GridSearchCV(model, grid, **common)
    distributions = {
        _network_param(task, "lr"): loguniform(1e-4, 3e-2),
        _network_param(task, "module__hidden_units"): [(64,), (128, 64), (256, 128)],
    }
    return RandomizedSearchCV(
        model,
        distributions,
        n_iter=RANDOM_SEARCH_ITERATIONS,
        random_state=seed,
        **common,
    )


def _describe_model(model, args):
    from .reports.history import final_step

    network = type(final_step(model)).__name__
    hidden = MODEL_PRESETS[args.model]
    text = f"{network}, preset {args.model!r} (hidden units {hidden}), "
    text += f"max_epochs={args.max_epochs}, seed {args.seed}"
    if args.search != "none":
        text += f", nested {args.search} search ({INNER_FOLDS} inner folds)"
    return text


def _print_best_params(report, say):
    say("\nBest parameters per fold:")
    for fold, search in enumerate(report.estimators_, start=1):
        params = ", ".join(
            f"{_short_param_name(name)}={_format_value(value)}"
            for name, value in sorted(search.best_params_.items())
        )
        say(f"  fold {fold}: {params}")


def _short_param_name(name):
    """``lr`` for ``model__regressor__lr``."""
    for prefix in ("model__", "regressor__"):
        name = name.removeprefix(prefix)
    return name


def _format_value(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _prepare_out_dir(path):
    """Create the output directory; an unusable path is a CliError."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create --out directory {out}: {error}") from None
    if not out.is_dir():
        raise CliError(f"--out must be a directory; {out} is a file")
    return out


@contextlib.contextmanager
def _parallel_backend(args, model, say):
    """Yield ``n_jobs`` for the run: -1 under a Dask backend, else None."""
    if args.scheduler is None and args.dask is None:
        yield None
        return
    _check_picklable(model)
    try:
        import distributed
        import joblib
    except ImportError:
        raise CliError(
            'Dask is not installed; install it with: pip install "nnestimators[dask]"'
        ) from None
    with contextlib.ExitStack() as stack:
        if args.dask == "local":
            say("Starting a local Dask cluster...")
            address = stack.enter_context(
                distributed.LocalCluster(
                    processes=True,
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # Shutdown chatter would read like errors on stderr.
                    silence_logs=logging.ERROR,
                )
            )
        else:
            address = args.scheduler
        client = stack.enter_context(_connect(distributed, address))
        say(f"Dask: {len(client.scheduler_info()['workers'])} workers")
        stack.enter_context(joblib.parallel_config(backend="dask"))
        yield -1


def _check_picklable(model):
    """Fail early if ``model`` cannot travel to worker processes.

    Dask's scheduler logs a failed deserialisation and then waits forever,
    so the command checks the round trip itself.
    """
    import pickle

    try:
        pickle.loads(pickle.dumps(model))
    except Exception as error:
        raise RunError(
            "the model cannot be pickled and unpickled, which Dask needs to "
            f"send it to workers: {type(error).__name__}: {_first_line(error)}"
        ) from None


def _connect(distributed, address):
    """A Dask client; connection failures become a CliError."""
    try:
        return distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as error:
        raise CliError(
            f"could not connect to the Dask scheduler at {address}: "
            f"{_first_line(error)}"
        ) from None
