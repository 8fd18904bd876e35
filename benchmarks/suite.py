"""Runs the fit/predict grid: warm-up, interleaved timed repeats, memory pass."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from benchmarks.config import BenchmarkConfig
from benchmarks.data import make_dataset
from benchmarks.implementations import Implementation
from benchmarks.measure import CellKey, Results, RssPeakProbe, measure_memory, timed

Log = Callable[[str], None]

_WARM_UP_ROWS = 256


def configure_threads(threads: int) -> None:
    """Same intra-op thread count for torch and for numpy's BLAS (sklearn)."""
    torch.set_num_threads(threads)
    # Process-wide and left in place for the whole run, on purpose.
    threadpool_limits(limits=threads)


def available_implementations(
    implementations: Sequence[Implementation], log: Log
) -> tuple[list[Implementation], dict[str, str]]:
    """Split into the runnable ones and ``{key: reason}`` for the others."""
    runnable, skipped = [], {}
    for impl in implementations:
        reason = impl.unavailable_reason()
        if reason is None:
            runnable.append(impl)
        else:
            skipped[impl.key] = reason
            log(f"skipping {impl.key}: {reason}")
    return runnable, skipped


def rotated(items: Sequence[Implementation], shift: int) -> list[Implementation]:
    """``items`` rotated left by ``shift``: each repeat starts with another one."""
    shift %= len(items)
    return list(items[shift:]) + list(items[:shift])


def warm_up(implementations: Sequence[Implementation], config: BenchmarkConfig):
    """One tiny untimed fit and predict each: lazy imports and first-call setup."""
    X, y = make_dataset(_WARM_UP_ROWS, config.n_features, config.seed)
    settings = config.settings(batch_size=64)
    for impl in implementations:
        impl.predict_proba(impl.fit(X, y, settings), X)


def _accuracy(proba: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((proba > 0.5) == y))


def _time_one(impl, X, y, settings, results: Results, key: CellKey) -> None:
    fit, model = timed(lambda: impl.fit(X, y, settings))
    predict, proba = timed(lambda: impl.predict_proba(model, X))
    record = results.record(key)
    record.fit_seconds.append(fit.wall)
    record.fit_cpu_seconds.append(fit.cpu)
    record.predict_seconds.append(predict.wall)
    record.train_accuracy = _accuracy(proba, y)


def run_timings(
    implementations: Sequence[Implementation],
    config: BenchmarkConfig,
    datasets: dict[int, tuple[np.ndarray, np.ndarray]],
    results: Results,
    log: Log,
) -> None:
    """``config.repeats`` passes over the grid, implementations interleaved.

    Within a repeat every cell runs all implementations back to back (in an
    order rotated per repeat), so drifting machine load hits them all alike.
    """
    for repeat in range(config.repeats):
        order = rotated(implementations, repeat)
        for n_rows in config.n_rows:
            X, y = datasets[n_rows]
            for batch_size in config.batch_sizes:
                settings = config.settings(batch_size)
                for impl in order:
                    key = CellKey(impl.key, n_rows, batch_size)
                    _time_one(impl, X, y, settings, results, key)
                    record = results.record(key)
                    log(
                        f"repeat {repeat + 1}/{config.repeats} n={n_rows} "
                        f"B={batch_size} {impl.key}: fit {record.fit_seconds[-1]:.3f}s"
                        f" (CPU {record.fit_cpu_seconds[-1]:.3f}s)"
                    )


def run_memory_pass(
    implementations: Sequence[Implementation],
    config: BenchmarkConfig,
    datasets: dict[int, tuple[np.ndarray, np.ndarray]],
    results: Results,
    probe: RssPeakProbe,
    log: Log,
) -> None:
    """One extra, untimed fit per cell under the memory probes."""
    for n_rows in config.n_rows:
        X, y = datasets[n_rows]
        for batch_size in config.batch_sizes:
            settings = config.settings(batch_size)
            for impl in implementations:
                usage = measure_memory(probe, impl.fit, X, y, settings)
                results.record(CellKey(impl.key, n_rows, batch_size)).memory = usage
                log(f"memory n={n_rows} B={batch_size} {impl.key}: done")


def run_fit_predict_grid(
    implementations: Sequence[Implementation],
    config: BenchmarkConfig,
    probe: RssPeakProbe,
    log: Log,
) -> Results:
    """Warm up, then the timed repeats, then (optionally) the memory pass."""
    datasets = {
        n: make_dataset(n, config.n_features, config.seed) for n in config.n_rows
    }
    warm_up(implementations, config)
    # Imported modules never die: freezing them keeps the collection before
    # each measurement quick (full collections took ~0.15 s here).
    gc.freeze()
    results = Results()
    run_timings(implementations, config, datasets, results, log)
    if config.measure_memory:
        run_memory_pass(implementations, config, datasets, results, probe, log)
    return results
