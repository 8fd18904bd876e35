"""The ``nnestimators`` command line.

Run ``nnestimators report --help`` for the options. Input problems are
reported on one line, ``nnestimators: error: ...``, with exit status 2.

The package's modules: ``entry_point`` (``main`` and exit statuses),
``parser`` (options and help), ``report_command`` (the ``report`` run and
what it prints), ``data`` (the table, target, feature columns and task),
``reading`` (the ``--data`` file into pandas, in bounded time and memory),
``limits`` (the size, value, column and header limits, and their checks),
``text_encoding`` (a CSV file's encoding, detected or ``--encoding``, and
binary files refused), ``csv_layout`` (delimiter, decimal mark and header
line), ``models`` (the estimator and search), ``output`` (the ``--out``
folder), ``parallel`` (the Dask backend) and ``errors``.

Examples
--------
From a shell::

    nnestimators report --max-epochs 20 --cv 3
    nnestimators report --data houses.csv --target price --out houses-report
    nnestimators report --data users.csv --drop email --out users --overwrite
"""

from .data import (
    MAX_CLASS_LEVELS,
    MAX_DISTINCT_TEXT,
    READERS,
    check_folds,
    decide_task,
    load_default_data,
    load_table,
    select_features,
    sniff_delimiter,
    split_target,
    target_values,
)
from .entry_point import main
from .errors import CliError, RunError
from .models import (
    EPOCH_METRICS,
    INNER_FOLDS,
    MAX_CATEGORIES,
    MODEL_PRESETS,
    RANDOM_SEARCH_ITERATIONS,
    SEARCH_GRID,
    SEARCH_SCORING,
    build_model,
    estimator_class,
    make_network,
    make_preprocessor,
    make_search,
)
from .output import MARKER
from .parser import DEFAULT_OUT, PROG, REPORT_DESCRIPTION, REPORT_EPILOG, build_parser

# The name it had when the command line was one module.
_target_values = target_values


def __getattr__(name):
    # ``run_report`` brings in the reports and matplotlib: imported when asked
    # for, so that ``nnestimators --help`` stays fast.
    if name == "run_report":
        from .report_command import run_report

        return run_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_OUT",
    "EPOCH_METRICS",
    "INNER_FOLDS",
    "MARKER",
    "MAX_CATEGORIES",
    "MAX_CLASS_LEVELS",
    "MAX_DISTINCT_TEXT",
    "MODEL_PRESETS",
    "PROG",
    "RANDOM_SEARCH_ITERATIONS",
    "READERS",
    "REPORT_DESCRIPTION",
    "REPORT_EPILOG",
    "SEARCH_GRID",
    "SEARCH_SCORING",
    "CliError",
    "RunError",
    "build_model",
    "build_parser",
    "check_folds",
    "decide_task",
    "estimator_class",
    "load_default_data",
    "load_table",
    "main",
    "make_network",
    "make_preprocessor",
    "make_search",
    "run_report",
    "select_features",
    "sniff_delimiter",
    "split_target",
    "target_values",
]
