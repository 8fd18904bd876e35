"""The argument parser: sub-commands, options, their types and help texts."""

from __future__ import annotations

import argparse

from .errors import CliError
from .models import MODEL_PRESETS
from .text_encoding import check_encoding

PROG = "nnestimators"

DEFAULT_OUT = "nnestimators-report"

REPORT_DESCRIPTION = """\
Cross-validate a neural network on a table and write a report (HTML page,
CSV and JSON tables, PNG figures) that says whether the network beats two
baselines scored on the same folds.

Without --data, the breast cancer data set shipped with scikit-learn is used
(binary: malignant or benign, 569 rows, 30 numeric columns).

With --data, numeric columns are imputed with their median and standardised;
other columns (text, categories, booleans) are imputed with their most
frequent value and one-hot encoded (at most 50 columns each: the most
frequent values, the others together). Dropped, each with a note: columns
without any value; a saved row index (an unnamed first column of increasing
integers, as pandas' to_csv and R's write.csv write it); text columns that
look like identifiers (distinct values in more than half the rows, and more
than 20 of them) or have more than 1000 distinct values; and the --drop
columns. Rows with a missing target are dropped.
The task is inferred from the target: text, booleans or integers with at most
20 distinct values are classes, other numbers are a regression target.

A CSV file's delimiter (comma, semicolon, tab or |) and decimal commas are
detected, and so is its encoding: a byte-order mark tells UTF-8, UTF-16 or
UTF-32, NUL bytes tell UTF-16 without one; otherwise UTF-8, or, when the
file is not valid UTF-8, Windows-1252 (cp1252, which includes Latin-1) with
a note. --encoding NAME (e.g. cp1251, shift_jis) reads it in that encoding
instead, without detection. Binary files are refused: compressed (gzip,
bzip2, xz, zstd, zip), Excel workbooks, parquet data named .csv, NUL bytes.
Before it is parsed, a file is refused that is larger than 512 MiB, holds
more than 50,000,000 values (rows x columns; a CSV file's lines count as
rows) or more than 20,000 columns, or whose header line is longer than
4 MiB; a parquet file's decompressed size and text count against the
512 MiB. Text one-hot encoded, the features may have at most 100,000 columns
and 50,000,000 values.

The network is NNBinaryClassifier, NNClassifier or NNRegressor with 10% of
each training fold held out for early stopping (patience 10); NNRegressor
learns a standardised target itself. Two baselines go through the same
preprocessing, folds and metrics: a dummy (the majority class, or the mean)
and a linear model (LogisticRegression, or ridge regression choosing its
penalty by RidgeCV's leave-one-out cross-validation, on 1000 random rows of
a table with more than 1000 rows and columns); --no-baselines skips them.

Written to --out: report.html, folds.csv, summary.csv (the network's and
the baselines' scores), predictions.csv (out-of-fold predictions, one row
per row with a target: row, fold, y_true, y_pred and the class
probabilities), metrics.json (with the command line and library versions)
and the figures as PNG files.

--out must be a new or empty directory, or one holding an earlier report of
this command (marked by a .nnestimators-report file that records each file
written with its size and SHA-256), replaced only with --overwrite. Then
only the files a report writes that are unchanged since are removed; every
other file stays, and the command lists it. If a name the new report writes
holds anything else, the command stops before training. It never writes
over the --data file.
"""

REPORT_EPILOG = """\
model presets (--model):
  mlp      one hidden layer of 64 units (default)
  linear   no hidden layer: logistic or linear regression
  wide     two hidden layers of 256 and 128 units

hyper-parameter search (--search), nested inside the cross-validation: in
every outer fold, a 3-fold search on the training part picks the parameters,
refits and is scored on the held-out part, so the reported scores are not
biased by the search. The parameters each fold chose are printed and shown
in the report.
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
  nnestimators report --data users.csv --drop email --out users --overwrite
"""


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, not usage and error."""

    def error(self, message):
        raise CliError(f"{message} (see '{self.prog} --help')")


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


def parse_arguments(parser, argv):
    """Parse ``argv``; unknown options point to the sub-command's help."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise CliError(
            f"unrecognized arguments: {' '.join(unknown)} "
            f"(see '{PROG} {args.command} --help')"
        )
    return args


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
        "--encoding",
        type=_encoding,
        metavar="NAME",
        help="the --data CSV file's text encoding, e.g. cp1251 or shift_jis: "
        "used as it is, without detection (default: detected, see above)",
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
        help=f"directory the report is written to: a new or empty one, or an "
        f"earlier report with --overwrite (default: ./{DEFAULT_OUT}/)",
    )
    report.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the earlier report in --out: remove only the files it "
        "wrote that are unchanged (same size and SHA-256 as recorded); every "
        "other file stays and is listed",
    )
    report.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip the dummy and linear baselines",
    )
    report.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COL",
        help="leave column COL out of the features; repeat for more columns",
    )
    report.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="N",
        help="random seed of the folds, the search and the networks (default: 0)",
    )
    report.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        metavar="N",
        help="CPU threads of each network (default: the estimator's default)",
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
    report.set_defaults(handler=_run_report)


def _run_report(args):
    """Run ``nnestimators report``, importing it only now.

    The report command imports the reports, matplotlib and the baselines;
    ``nnestimators --help`` and ``nnestimators report --help`` need none of
    them.
    """
    from .report_command import run_report

    return run_report(args)


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


def _encoding(text):
    try:
        return check_encoding(text)
    except CliError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _fold_count(text):
    return _positive_int(text, minimum=2)


# numpy's and torch's seeds are 32-bit.
MAX_SEED = 2**32 - 1


def _seed(text):
    value = _positive_int(text, minimum=0)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 0 to {MAX_SEED}; got {text!r}"
        )
    return value


def _epochs(text):
    return "auto" if text == "auto" else _positive_int(text)
