"""The ``report`` command: reads the table, cross-validates, prints and saves."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

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
from .models import INNER_FOLDS, MAX_CATEGORIES, MODEL_PRESETS, build_model
from .output import (
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
    frame, source = read_input(args.data, say)
    n_read = len(frame)
    X, y, target = split_target(frame, args.target, say)
    X, dropped = select_features(X, getattr(args, "drop", ()), say, target)
    task = decide_task(y, args.task, target)
    check_finite(X, y, task, target)
    check_folds(y, task, args.cv, args.search)
    say(
        f"Data: {source}, {len(X)} rows, {X.shape[1]} feature columns, "
        f"target {target!r} ({_describe_target(y, task)})"
    )
    model = build_model(task, X, args)
    out = prepare_out_dir(out)

    from ..reports import cross_validated_report

    model_text = _describe_model(model, args)
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
            )
        except (ValueError, ArithmeticError) as error:
            # ArithmeticError covers nnestimators' TrainingDivergedError.
            raise RunError(f"training failed: {first_line(error)}") from None
    say(f"Done in {time.perf_counter() - started:.1f} s.\n")
    say(str(report))
    for note in report.notes():
        say(f"\nNote: {note}")
    if args.search != "none":
        _print_best_params(report, say)
    remove_earlier_report(out)
    try:
        paths = report.save(out)
        paths[".nnestimators-report"] = write_marker(
            out, [path.name for path in paths.values()]
        )
    except OSError as error:
        raise RunError(f"cannot write the report to {out}: {error}") from None
    say("\nWrote:")
    for name, path in paths.items():
        if not name.startswith("."):
            say(f"  {path}")
    if args.quiet:
        print(out)
    return 0


def _fold_printer(say):
    """A ``progress`` callback printing one line per finished fold."""
    from ..reports.formatting import format_number

    def fold_done(result):
        line = f"  fold {result.fold}/{result.n_splits} done in {result.seconds:.1f} s"
        if result.test_scores:
            name, value = next(iter(result.test_scores.items()))
            line += f" (test {name} {format_number(value)})"
        if result.still_improving:
            line += "; ended at the max_epochs cap while still improving"
        say(line)

    return fold_done


def _context(args, source, n_read, X, dropped, target, model_text):
    """What the report's page says about its data and model."""
    from .models import _numeric_columns

    numeric = len(_numeric_columns(X))
    data = DEFAULT_DATA_NAME if args.data is None else Path(args.data).name
    rows = f"{len(X):,}"
    if n_read != len(X):
        rows += f" ({n_read - len(X):,} without a target dropped)"
    context = {
        "Data": data,
        "Rows": rows,
        "Features": (
            f"{X.shape[1]:,} ({numeric:,} numeric, {X.shape[1] - numeric:,} "
            f"categorical)"
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
    from ..reports.formatting import format_number

    if task == "regression":
        return (
            f"regression, mean {format_number(y.mean())}, std {format_number(y.std())}"
        )
    counts = ", ".join(f"{label}: {n}" for label, n in y.value_counts().items())
    return f"{task}, {counts}"


def _describe_model(model, args):
    from ..reports.history import final_step

    final = final_step(model)
    network = type(final).__name__
    hidden = MODEL_PRESETS[args.model]
    text = f"{network}, preset {args.model!r} (hidden units {hidden}), "
    text += f"max_epochs={args.max_epochs}, seed {args.seed}"
    params = final.get_params(deep=False)
    shown = ["lr", "batch_size", "validation_fraction", "patience", "n_threads"]
    if args.search != "none":
        shown.remove("lr")  # the search picks it
    extra = [f"{key}={params[key]}" for key in shown if key in params]
    if extra:
        text += ", " + ", ".join(extra)
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
