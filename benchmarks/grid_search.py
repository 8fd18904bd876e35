"""GridSearchCV over the nnestimators classifier at several ``n_jobs``.

Next to it runs a control: the same number of joblib tasks, each a pure-Python
busy loop that needs nothing but a free core. Its speed-up is the most any
parallel work could gain on this machine during this run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV

from benchmarks.config import BenchmarkConfig
from benchmarks.data import make_dataset
from benchmarks.implementations import NNEstimatorsImpl, make_nnestimators_classifier
from benchmarks.measure import median, ratio, timed

Log = Callable[[str], None]

# 2 learning rates x 4 architectures = 8 candidates.
PARAM_GRID = {
    "lr": [1e-3, 3e-3],
    "module__hidden_units": [(32,), (64,), (32, 32), (64, 64)],
}


def n_candidates() -> int:
    """Number of parameter combinations in :data:`PARAM_GRID`."""
    count = 1
    for values in PARAM_GRID.values():
        count *= len(values)
    return count


def n_fits(config: BenchmarkConfig) -> int:
    """Fits per search: candidates x folds (``refit=False``)."""
    return n_candidates() * config.grid_folds


@dataclass
class GridSearchResult:
    """Wall-clock seconds per ``n_jobs``, one entry per repeat (in run order)."""

    seconds: dict[int, list[float]] = field(default_factory=dict)
    control_seconds: dict[int, list[float]] = field(default_factory=dict)
    unavailable: str | None = None

    def median(self, n_jobs: int) -> float | None:
        return median(self.seconds.get(n_jobs, []))

    def speed_up(self, n_jobs: int, baseline_jobs: int = 1) -> float | None:
        """How many times faster ``n_jobs`` is than ``baseline_jobs`` (medians)."""
        return ratio(self.median(baseline_jobs), self.median(n_jobs))

    def control_median(self, n_jobs: int) -> float | None:
        return median(self.control_seconds.get(n_jobs, []))

    def control_speed_up(self, n_jobs: int, baseline_jobs: int = 1) -> float | None:
        """The control's speed-up: what a free core would have given."""
        return ratio(self.control_median(baseline_jobs), self.control_median(n_jobs))


def _search(config: BenchmarkConfig, n_jobs: int) -> GridSearchCV:
    estimator = make_nnestimators_classifier(
        max_epochs=config.grid_epochs,
        batch_size=config.grid_batch_size,
        random_state=config.seed,
    )
    # refit=False: time exactly candidates x folds fits, all of them
    # parallelisable; a refit would add one serial fit to both timings.
    return GridSearchCV(
        estimator, PARAM_GRID, cv=config.grid_folds, n_jobs=n_jobs, refit=False
    )


def busy_loop(iterations: int) -> int:
    """CPU-bound pure Python: no torch, no BLAS, next to no memory."""
    total = 0
    for i in range(iterations):
        total += i
    return total


def _run_control(config: BenchmarkConfig, n_jobs: int) -> float:
    """Seconds for ``n_fits`` busy-loop tasks through joblib (same backend)."""
    tasks = (
        delayed(busy_loop)(config.control_iterations) for _ in range(n_fits(config))
    )
    timing, _ = timed(lambda: Parallel(n_jobs=n_jobs)(tasks))
    return timing.wall


def run_grid_search(config: BenchmarkConfig, log: Log) -> GridSearchResult:
    """Time the search and the control at every ``config.grid_n_jobs``.

    Everything is interleaved per repeat. The first ``n_jobs > 1`` search also
    pays for starting joblib's worker processes; later repeats reuse them, as a
    session running several searches would.
    """
    reason = NNEstimatorsImpl().unavailable_reason()
    if reason is not None:
        log(f"skipping grid search: {reason}")
        return GridSearchResult(unavailable=reason)
    X, y = make_dataset(config.grid_rows, config.n_features, config.seed)
    result = GridSearchResult()
    for repeat in range(config.grid_repeats):
        for n_jobs in config.grid_n_jobs:
            timing, _ = timed(lambda n_jobs=n_jobs: _search(config, n_jobs).fit(X, y))
            # Wall clock only: the workers' CPU time is not this process's.
            result.seconds.setdefault(n_jobs, []).append(timing.wall)
            control = _run_control(config, n_jobs)
            result.control_seconds.setdefault(n_jobs, []).append(control)
            log(
                f"grid search repeat {repeat + 1}/{config.grid_repeats} "
                f"n_jobs={n_jobs}: {timing.wall:.2f}s (control {control:.2f}s)"
            )
    return result
