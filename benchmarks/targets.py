"""The issue's speed targets, checked against the measured medians."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.config import BenchmarkConfig
from benchmarks.grid_search import GridSearchResult
from benchmarks.implementations import (
    HandLoopImpl,
    NNEstimatorsImpl,
    SklearnMLPImpl,
    SkorchImpl,
)
from benchmarks.measure import Results, ratio
from benchmarks.thread_scenario import CONDITIONS, ThreadResults

PASS, MISS, NOT_MEASURED = "PASS", "MISS", "N/A"

NN, HAND = NNEstimatorsImpl.key, HandLoopImpl.key
SKORCH, SKLEARN = SkorchImpl.key, SklearnMLPImpl.key

SMALL_BATCH_LIMIT = 1.3  # batches below 128: per-batch overhead weighs more
LARGE_BATCH_LIMIT = 1.1
SKORCH_MIN_SPEED_UP = 3.0
SKORCH_BATCH_SIZE = 512
SKLEARN_MIN_BATCH_SIZE = 128
GRID_MIN_SPEED_UP = 1.5
THREADS_DEFAULT_LIMIT = 1.2


@dataclass(frozen=True)
class TargetCheck:
    """One target: what it asks, what was measured, and the verdict."""

    description: str
    measured: str
    status: str


def _check(
    description: str,
    value: float | None,
    passes: Callable[[float], bool],
    template: str,
    cpu_value: float | None = None,
    note: str = "",
) -> TargetCheck:
    """Verdict on the wall-clock ``value``; ``cpu_value`` is shown alongside.

    ``template`` formats a value, e.g. ``"speed-up {:.3f}×"``: three decimals,
    so that a value just past a limit does not print as the limit itself.
    """
    if value is None:
        return TargetCheck(description, "not measured", NOT_MEASURED)
    measured = "measured " + template.format(value)
    if cpu_value is not None:
        measured += " (CPU time: " + template.format(cpu_value) + ")"
    measured += note
    return TargetCheck(description, measured, PASS if passes(value) else MISS)


def _rows(n_rows: int) -> str:
    return f"{n_rows:,} rows"


def _fit_ratios(
    results: Results, numerator: str, denominator: str, n_rows: int, batch_size: int
) -> tuple[float | None, float | None]:
    """Fit-time ratio numerator ÷ denominator: (wall clock, CPU time)."""
    wall = ratio(
        results.fit_median(numerator, n_rows, batch_size),
        results.fit_median(denominator, n_rows, batch_size),
    )
    cpu = ratio(
        results.fit_cpu_median(numerator, n_rows, batch_size),
        results.fit_cpu_median(denominator, n_rows, batch_size),
    )
    return wall, cpu


def fit_vs_hand_loop(results: Results, config: BenchmarkConfig) -> list[TargetCheck]:
    """nnestimators fit time within 1.1x (1.3x below batch 128) of the hand loop."""
    checks = []
    for batch_size in config.batch_sizes:
        limit = SMALL_BATCH_LIMIT if batch_size < 128 else LARGE_BATCH_LIMIT
        for n_rows in config.n_rows:
            wall, cpu = _fit_ratios(results, NN, HAND, n_rows, batch_size)
            checks.append(
                _check(
                    f"fit time ≤ {limit:.1f}× the hand loop "
                    f"(batch {batch_size}, {_rows(n_rows)})",
                    wall,
                    lambda v, limit=limit: v <= limit,
                    "{:.3f}× the hand loop's time",
                    cpu,
                )
            )
    return checks


def faster_than_skorch(results: Results, config: BenchmarkConfig) -> TargetCheck:
    """≥ 3x faster than stock skorch at batch 512 on the largest data."""
    batch_size = (
        SKORCH_BATCH_SIZE
        if SKORCH_BATCH_SIZE in config.batch_sizes
        else max(config.batch_sizes)
    )
    n_rows = max(config.n_rows)
    wall, cpu = _fit_ratios(results, SKORCH, NN, n_rows, batch_size)
    return _check(
        f"fit ≥ {SKORCH_MIN_SPEED_UP:.0f}× faster than stock skorch "
        f"(batch {batch_size}, {_rows(n_rows)})",
        wall,
        lambda v: v >= SKORCH_MIN_SPEED_UP,
        "speed-up {:.3f}×",
        cpu,
    )


def faster_than_sklearn(results: Results, config: BenchmarkConfig) -> list[TargetCheck]:
    """Faster than MLPClassifier at every batch size ≥ 128."""
    checks = []
    for batch_size in config.batch_sizes:
        if batch_size < SKLEARN_MIN_BATCH_SIZE:
            continue
        for n_rows in config.n_rows:
            wall, cpu = _fit_ratios(results, SKLEARN, NN, n_rows, batch_size)
            checks.append(
                _check(
                    f"fit faster than MLPClassifier "
                    f"(batch {batch_size}, {_rows(n_rows)})",
                    wall,
                    lambda v: v > 1.0,
                    "speed-up {:.3f}×",
                    cpu,
                )
            )
    return checks


def grid_search_speed_up(
    grid: GridSearchResult, config: BenchmarkConfig
) -> TargetCheck:
    """GridSearchCV with the most jobs ≥ 1.5x faster than n_jobs=1."""
    n_jobs = max(config.grid_n_jobs)
    control = grid.control_speed_up(n_jobs)
    note = (
        ""
        if control is None
        else f"; control (busy loop, same tasks and n_jobs) in this run: "
        f"speed-up {control:.3f}×"
    )
    return _check(
        f"GridSearchCV n_jobs={n_jobs} ≥ {GRID_MIN_SPEED_UP}× faster than n_jobs=1",
        grid.speed_up(n_jobs),
        lambda v: v >= GRID_MIN_SPEED_UP,
        "speed-up {:.3f}×",
        note=note,
    )


def default_threads_vs_best(threads: ThreadResults) -> list[TargetCheck]:
    """The default n_threads within 1.2x of the best fixed count, quiet and busy."""
    checks = []
    for key in threads.workloads:
        for condition in CONDITIONS:
            best, _ = threads.best_fixed(condition, key)
            note = f"; best fixed: {best}" if best else ""
            checks.append(
                _check(
                    f"fit with the default n_threads ({threads.default_value!r}) "
                    f"≤ {THREADS_DEFAULT_LIMIT}× the best fixed thread count "
                    f"({key}, {condition} machine)",
                    threads.ratio_to_best(condition, key),
                    lambda v: v <= THREADS_DEFAULT_LIMIT,
                    "{:.3f}× the best fixed count's time",
                    note=note,
                )
            )
    return checks


def evaluate_targets(
    results: Results,
    grid: GridSearchResult,
    config: BenchmarkConfig,
    threads: ThreadResults | None = None,
) -> list[TargetCheck]:
    """Every target, in the order the issues list them."""
    checks = [
        *fit_vs_hand_loop(results, config),
        faster_than_skorch(results, config),
        *faster_than_sklearn(results, config),
        grid_search_speed_up(grid, config),
    ]
    if threads is not None and threads.unavailable is None:
        checks += default_threads_vs_best(threads)
    return checks
