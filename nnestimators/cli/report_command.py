"""The ``report`` command: reads the table, cross-validates, prints and saves."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

from ..reports import cross_validated_report
from ..reports.export import file_names
from ..reports.formatting import format_count, format_number
from ..reports.history import final_step
from ..reports.provenance import readable_value
from .data import (
    DEFAULT_DATA_NAME,
    check_finite,
    check_folds,
    decide_task,
    read_input,
    select_features,
    split_target,
    target_values,
)
from .errors import RunError, first_line
from .models import (
    INNER_FOLDS,
    MAX_CATEGORIES,
    MODEL_PRESETS,
    RANDOM_HIDDEN_UNITS,
    RANDOM_LR_RANGE,
    RANDOM_SEARCH_ITERATIONS,
    SEARCH_GRID,
    SEARCH_SCORING,
    build_model,
    numeric_columns,
)
from .output import (
    MARKER,
    check_out_dir,
    prepare_out_dir,
    remove_earlier_report,
    write_marker,
)
from .parallel import parallel_backend


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
    # Before reading anything: a wrong --out fails at once.
    out = check_out_dir(args.out, args.data, getattr(args, "overwrite", False))
    frame, source = read_input(args.data, say, getattr(args, "encoding", None))
    n_read = len(frame)
    X, y, target = split_target(frame, args.target, say)
    X, dropped = select_features(X, getattr(args, "drop", ()), say, target)
    task = decide_task(y, args.task, target)
    check_finite(X, y, task, target)
    check_folds(y, task, args.cv, args.search)
    say(
        f"Data: {source}, {format_count(len(X))} rows, "
        f"{format_count(X.shape[1])} feature columns, "
        f"target {target!r} ({_describe_target(y, task)})"
    )
    model = build_model(task, X, args)
    out = prepare_out_dir(out)
    model_text = _describe_model(model, args, task)
    say(f"Model: {model_text}")
    say(f"Cross-validating with {args.cv} folds...")
    context = _context(args, source, n_read, X, dropped, target, model_text)
    started = time.perf_counter()
    with parallel_backend(args, model, say) as n_jobs, warnings.catch_warnings():
        # A fold that ends on max_epochs while improving gets a line of its
        # own (and a note in the report), not a warning with a source line.
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            report = cross_validated_report(
                model,
                X,
                target_values(y, task),
                cv=args.cv,
                task=task,
                n_jobs=n_jobs,
                random_state=args.seed,
                context=context,
                progress=_fold_printer(say),
                baselines=not getattr(args, "no_baselines", False),
            )
        except (ValueError, ArithmeticError) as error:
            # ArithmeticError covers nnestimators' TrainingDivergedError.
            raise RunError(f"training failed: {first_line(error)}") from None
    report.command = getattr(args, "command_line", None)
    say(f"Done in {time.perf_counter() - started:.1f} s.\n")
    say(str(report))
    for note in report.notes():
        say(f"\nNote: {note}")
    if args.search != "none":
        _print_best_params(report, say)
    _write(report, out, say)
    if args.quiet:
        print(out)
    return 0


def _write(report, out, say):
    """Replace the earlier report's unchanged files, write, and say what stayed."""
    kept = remove_earlier_report(out, file_names(report))
    try:
        paths = report.save(out)
        paths[MARKER] = write_marker(out, [path.name for path in paths.values()])
    except OSError as error:
        raise RunError(f"cannot write the report to {out}: {error}") from None
    say("\nWrote:")
    for name, path in paths.items():
        if name != MARKER:
            say(f"  {path}")
    if kept:
        say(f"\nKept in {out} (not written by this command, so not replaced):")
        for name, reason in kept.items():
            say(f"  {name}: {reason}")


def _fold_printer(say):
    """A ``progress`` callback printing one line per finished fold."""

    def fold_done(result):
        line = f"  fold {result.fold}/{result.n_splits} done in {result.seconds:.1f} s"
        if result.test_scores:
            name, value = next(iter(result.test_scores.items()))
            line += f" (test {name} {format_number(value)})"
        if result.still_improving:
            line += "; ended at the max_epochs cap while still improving"
        elif result.ended_before_early_stopping:
            line += "; ended at the max_epochs cap before early stopping triggered"
        say(line)

    return fold_done


def _context(args, source, n_read, X, dropped, target, model_text):
    """What the report's page says about its data and model."""
    numeric = len(numeric_columns(X))
    data = DEFAULT_DATA_NAME if args.data is None else Path(args.data).name
    rows = format_count(len(X))
    if n_read != len(X):
        rows += f" ({format_count(n_read - len(X))} without a target dropped)"
    context = {
        "Data": data,
        "Rows": rows,
        "Features": (
            f"{format_count(X.shape[1])} ({format_count(numeric)} numeric, "
            f"{format_count(X.shape[1] - numeric)} categorical)"
            + (
                f"; categories one-hot encoded, at most {MAX_CATEGORIES} columns each"
                if numeric < X.shape[1]
                else ""
            )
        ),
        "Dropped columns": (
            "; ".join(f"{name} ({reason})" for name, reason in dropped.items())
            if dropped
            else "none"
        ),
        "Target column": target,
        "Model": model_text,
    }
    settings = [
        f"--cv {args.cv}",
        f"--max-epochs {args.max_epochs}",
        f"--seed {args.seed}",
        f"--search {args.search}",
    ]
    if getattr(args, "threads", None) is not None:
        settings.append(f"--threads {args.threads}")
    context["Settings"] = " ".join(settings)
    return context


def _printer(quiet):
    """``print`` to stdout, or a no-op when quiet."""
    if quiet:
        return lambda *args, **kwargs: None
    return lambda *args, **kwargs: print(*args, **kwargs, flush=True)


def _describe_target(y, task):
    if task == "regression":
        return (
            f"regression, mean {format_number(y.mean())}, std {format_number(y.std())}"
        )
    counts = ", ".join(
        f"{label}: {format_count(n)}" for label, n in y.value_counts().items()
    )
    return f"{task}, {counts}"


def _describe_model(model, args, task):
    """The network as trained: the preset, or what the search chooses."""
    final = final_step(model)
    network = type(final).__name__
    if args.search == "none":
        hidden = MODEL_PRESETS[args.model]
        text = f"{network}, preset {args.model!r} (hidden units {hidden})"
    else:
        # The search replaces the preset's hidden units and the lr.
        text = (
            f"{network}, hidden units and lr chosen in each fold by a nested "
            f"{args.search} search ({INNER_FOLDS} inner folds, scoring "
            f"{SEARCH_SCORING[task]}; {_search_space(args.search)}); "
            "the choices are listed per fold"
        )
    text += f", max_epochs={args.max_epochs}, seed {args.seed}"
    params = final.get_params(deep=False)
    shown = ["lr", "batch_size", "validation_fraction", "patience", "n_threads"]
    if args.search != "none":
        shown.remove("lr")  # the search picks it
    extra = [f"{key}={params[key]}" for key in shown if key in params]
    if extra:
        text += ", " + ", ".join(extra)
    return text


def _search_space(kind):
    """``lr in {0.001, 0.003, 0.01}; hidden_units in {(64,), (128, 64)}``."""
    if kind == "grid":
        return "; ".join(
            f"{name.removeprefix('module__')} in {{{', '.join(map(str, values))}}}"
            for name, values in SEARCH_GRID.items()
        )
    low, high = RANDOM_LR_RANGE
    hidden = ", ".join(map(str, RANDOM_HIDDEN_UNITS))
    return (
        f"{RANDOM_SEARCH_ITERATIONS} draws: lr log-uniform in [{low:g}, {high:g}], "
        f"hidden_units in {{{hidden}}}"
    )


def _print_best_params(report, say):
    say("\nBest parameters per fold:")
    chosen = report.chosen_parameters()
    for fold, row in chosen.iterrows():
        params = ", ".join(
            f"{name}={readable_value(value)}"
            for name, value in row.items()
            if name != "best_inner_score"
        )
        say(f"  fold {fold}: {params}")
