"""Command line: ``python -m benchmarks [--quick] [--out docs/benchmarks.md]``."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.config import FULL, QUICK, BenchmarkConfig
from benchmarks.grid_search import run_grid_search
from benchmarks.implementations import ALL_IMPLEMENTATIONS, adam_variant
from benchmarks.machine import describe_machine, load_averages, usable_cores
from benchmarks.measure import RssPeakProbe
from benchmarks.report import RunSummary, render_console, render_markdown
from benchmarks.suite import (
    available_implementations,
    configure_threads,
    run_fit_predict_grid,
)
from benchmarks.targets import evaluate_targets
from benchmarks.thread_scenario import run_thread_scenario


def _int_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        epilog="Other commands: `python -m benchmarks threads [--quick]` runs "
        "only the quiet/busy thread scenario; `python -m benchmarks gpu` runs "
        "the CUDA check; `python -m benchmarks mlp [--quick]` compares the MLP "
        "drop-ins with scikit-learn's MLP.",
        description="Benchmark nnestimators against a hand-written PyTorch loop, "
        "stock skorch and scikit-learn's MLPClassifier.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke-test sizes: 1,000 rows, 1 epoch, 1 repeat",
    )
    parser.add_argument("--out", type=Path, help="write the markdown report here")
    overrides = parser.add_argument_group("overrides (default: full or --quick)")
    overrides.add_argument("--n-rows", type=_int_tuple, help="e.g. 20000,100000")
    overrides.add_argument("--batch-sizes", type=_int_tuple, help="e.g. 32,128,512")
    overrides.add_argument("--epochs", type=int)
    overrides.add_argument("--repeats", type=int)
    overrides.add_argument("--threads", type=int, help="torch and BLAS threads")
    overrides.add_argument("--grid-rows", type=int)
    overrides.add_argument("--grid-epochs", type=int)
    overrides.add_argument("--grid-repeats", type=int)
    overrides.add_argument(
        "--no-memory", action="store_true", help="skip the peak-memory pass"
    )
    overrides.add_argument("--threads-repeats", type=int)
    overrides.add_argument(
        "--no-threads",
        action="store_true",
        help="skip the quiet/busy thread scenario",
    )
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> BenchmarkConfig:
    """The preset chosen by ``--quick``, with any explicit overrides applied."""
    config = QUICK if args.quick else FULL
    names = (
        "n_rows",
        "batch_sizes",
        "epochs",
        "repeats",
        "threads",
        "grid_rows",
        "grid_epochs",
        "grid_repeats",
        "threads_repeats",
    )
    changes = {name: getattr(args, name) for name in names}
    changes = {name: value for name, value in changes.items() if value is not None}
    if args.no_memory:
        changes["measure_memory"] = False
    if args.no_threads:
        changes["thread_scenario"] = False
    return replace(config, **changes)


_START = time.perf_counter()


def _log(message: str) -> None:
    # Progress goes to stderr so that stdout carries only the tables.
    elapsed = time.perf_counter() - _START
    print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)


def run(config: BenchmarkConfig) -> RunSummary:
    """The whole suite in this process: fit/predict grid, then grid search."""
    configure_threads(config.threads)
    machine = describe_machine()
    _log(f"torch threads: {config.threads}; measuring")
    runnable, skipped = available_implementations(ALL_IMPLEMENTATIONS, _log)
    probe = RssPeakProbe()
    loads = {"at start": load_averages()}
    results = run_fit_predict_grid(runnable, config, probe, _log)
    loads["after the fit/predict grid"] = load_averages()
    grid = run_grid_search(config, _log)
    threads = None
    if config.thread_scenario:
        loads["after the grid search"] = load_averages()
        threads = run_thread_scenario(config, _log)
    loads["at end"] = load_averages()
    return RunSummary(
        config=config,
        machine=machine,
        implementations=ALL_IMPLEMENTATIONS,
        skipped=skipped,
        results=results,
        grid=grid,
        targets=evaluate_targets(results, grid, config, threads),
        memory_method=probe.method,
        adam_variant=adam_variant(),
        loads=loads,
        usable_cores=usable_cores(),
        threads=threads,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "gpu":
        from benchmarks.gpu import main as gpu_main

        return gpu_main(argv[1:])
    if argv and argv[0] == "mlp":
        from benchmarks.mlp_dropins import main as mlp_main

        return mlp_main(argv[1:])
    if argv and argv[0] == "threads":
        from benchmarks.thread_scenario import main as threads_main

        return threads_main(argv[1:])
    args = parse_args(argv)
    summary = run(build_config(args))
    # The file first: a closed stdout pipe (| head) must not lose the report.
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render_markdown(summary), encoding="utf-8")
        _log(f"wrote {args.out}")
    print(render_console(summary))
    return 0
