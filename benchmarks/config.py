"""What the suite measures: sizes, epochs, repeats and thread counts."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class TrainSettings:
    """Hyper-parameters shared by every implementation for one fit."""

    batch_size: int
    epochs: int
    lr: float
    hidden_units: tuple[int, ...]
    seed: int


@dataclass(frozen=True)
class BenchmarkConfig:
    """Full description of one benchmark run."""

    n_rows: tuple[int, ...] = (20_000, 100_000)
    batch_sizes: tuple[int, ...] = (32, 128, 512)
    n_features: int = 20
    epochs: int = 3
    repeats: int = 3
    lr: float = 1e-3
    hidden_units: tuple[int, ...] = (64, 64)
    seed: int = 0
    # One thread for torch and BLAS alike: the networks are small, so extra
    # intra-op threads mostly add synchronisation, and a single thread keeps
    # the comparison fair and the n_jobs=2 grid search meaningful on 2 cores.
    threads: int = 1
    measure_memory: bool = True
    grid_rows: int = 20_000
    # Enough work per fit that process dispatch does not dominate the timing.
    grid_epochs: int = 5
    grid_batch_size: int = 128
    grid_folds: int = 3
    grid_n_jobs: tuple[int, ...] = (1, 2)
    grid_repeats: int = 3
    # Busy-loop length of one control task (about 0.1 s of pure Python).
    control_iterations: int = 3_000_000
    # Threads, quiet and busy (thread_scenario.py): the estimator's default
    # n_threads against fixed counts, for a small MLP and a ConvNet.
    thread_scenario: bool = True
    threads_repeats: int = 3
    threads_mlp_hidden_units: tuple[int, ...] = (64, 32)
    threads_mlp_epochs: int = 30
    threads_mlp_rows: int | None = None  # None: all 569 rows
    threads_mlp_batch_size: int = 32
    threads_conv_rows: int = 512
    threads_conv_image_size: int = 28
    threads_conv_epochs: int = 2
    threads_conv_batch_size: int = 64
    quick: bool = False

    def settings(self, batch_size: int) -> TrainSettings:
        """Training settings for one cell of the grid."""
        return TrainSettings(
            batch_size=batch_size,
            epochs=self.epochs,
            lr=self.lr,
            hidden_units=self.hidden_units,
            seed=self.seed,
        )


FULL = BenchmarkConfig()

# Small enough for a smoke test; the figures it produces mean nothing.
QUICK = replace(
    FULL,
    n_rows=(1_000,),
    epochs=1,
    repeats=1,
    grid_rows=1_000,
    grid_epochs=1,
    grid_repeats=1,
    control_iterations=100_000,
    threads_repeats=1,
    threads_mlp_epochs=1,
    threads_mlp_rows=128,
    threads_conv_rows=32,
    threads_conv_batch_size=32,
    threads_conv_image_size=12,
    threads_conv_epochs=1,
    quick=True,
)
