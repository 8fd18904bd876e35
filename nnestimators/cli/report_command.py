"""The ``report`` command: reads the table, cross-validates, prints and saves."""

from __future__ import annotations

import time
from pathlib import Path

from .data import check_folds, decide_task, read_input, split_target, target_values
from .errors import CliError, RunError, first_line
from .models import INNER_FOLDS, MODEL_PRESETS, build_model
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
    frame, source = read_input(args.data)
    X, y, target = split_target(frame, args.target, say)
    task = decide_task(y, args.task, target)
    check_folds(y, task, args.cv, args.search)
    say(
        f"Data: {source}, {len(X)} rows, {X.shape[1]} feature columns, "
        f"target {target!r} ({_describe_target(y, task)})"
    )
    model = build_model(task, X, args)
    out = _prepare_out_dir(args.out)

    from ..reports import cross_validated_report

    say(f"Model: {_describe_model(model, args)}")
    say(f"Cross-validating with {args.cv} folds...")
    started = time.perf_counter()
    with parallel_backend(args, model, say) as n_jobs:
        try:
            report = cross_validated_report(
                model,
                X,
                target_values(y, task),
                cv=args.cv,
                task=task,
                n_jobs=n_jobs,
                random_state=args.seed,
            )
        except (ValueError, ArithmeticError) as error:
            # ArithmeticError covers nnestimators' TrainingDivergedError.
            raise RunError(f"training failed: {first_line(error)}") from None
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


def _describe_target(y, task):
    if task == "regression":
        return f"regression, mean {y.mean():.4g}, std {y.std():.4g}"
    counts = ", ".join(f"{label}: {n}" for label, n in y.value_counts().items())
    return f"{task}, {counts}"


def _describe_model(model, args):
    from ..reports.history import final_step

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
