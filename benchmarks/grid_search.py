"""GridSearchCV over the nnestimators classifier at several ``n_jobs``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass
class GridSearchResult:
    """Wall-clock seconds per ``n_jobs``, one entry per repeat (in run order)."""

    seconds: dict[int, list[float]] = field(default_factory=dict)
    unavailable: str | None = None

    def median(self, n_jobs: int) -> float | None:
        return median(self.seconds.get(n_jobs, []))

    def speed_up(self, n_jobs: int, baseline_jobs: int = 1) -> float | None:
        """How many times faster ``n_jobs`` is than ``baseline_jobs`` (medians)."""
        return ratio(self.median(baseline_jobs), self.median(n_jobs))


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


def run_grid_search(config: BenchmarkConfig, log: Log) -> GridSearchResult:
    """Time the search at every ``config.grid_n_jobs``, interleaved per repeat.

    The first ``n_jobs > 1`` run also pays for starting joblib's worker
    processes; later repeats reuse them, as a session running several searches
    would.
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
            seconds = timing.wall
            result.seconds.setdefault(n_jobs, []).append(seconds)
            log(
                f"grid search repeat {repeat + 1}/{config.grid_repeats} "
                f"n_jobs={n_jobs}: {seconds:.2f}s"
            )
    return result
