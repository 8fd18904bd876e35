"""Threads on a quiet and on a busy machine: the default against fixed counts.

For two networks, a small MLP (breast cancer, 64-32 units, batch 32) and a
ConvNet (28x28 synthetic images), the fit time with the estimator's default
``n_threads`` is compared with the fastest fixed thread count, on a quiet
machine and with one spinning process per usable core beside the fits
(:class:`benchmarks.busy.Hogs`). Every variant runs back to back within a
repeat, in an order rotated per repeat; quiet and busy passes alternate; the
figures are medians.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits

from benchmarks.busy import Hogs
from benchmarks.config import FULL, QUICK, BenchmarkConfig
from benchmarks.machine import usable_cores
from benchmarks.measure import median, ratio, timed

Log = Callable[[str], None]

# torch's own thread count, read before the suite pins it to config.threads.
TORCH_DEFAULT_THREADS = torch.get_num_threads()

QUIET, BUSY = "quiet", "busy"
CONDITIONS = (QUIET, BUSY)
DEFAULT, AUTO = "default", "auto"


@dataclass(frozen=True)
class Workload:
    """One network and its data, fitted with every thread setting."""

    key: str
    label: str
    X: np.ndarray
    y: np.ndarray
    params: dict
    # A fresh module of the fitted architecture, to count its work.
    make_module: Callable[[], torch.nn.Module]
    batch_size: int


def breast_cancer_mlp(config: BenchmarkConfig) -> Workload:
    """Breast cancer (569 x 30, standardised), MLP 64-32, batch 32."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from nnestimators.modules import MLP

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    X, y = X[: config.threads_mlp_rows], y[: config.threads_mlp_rows]
    hidden = config.threads_mlp_hidden_units
    return Workload(
        key="mlp",
        label=f"MLP {'-'.join(map(str, hidden))}, breast cancer "
        f"({len(X)} rows, standardised), batch {config.threads_mlp_batch_size}, "
        f"{config.threads_mlp_epochs} epoch(s)",
        X=X,
        y=y,
        params={
            "module": MLP,
            "module__hidden_units": hidden,
            "max_epochs": config.threads_mlp_epochs,
            "batch_size": config.threads_mlp_batch_size,
        },
        make_module=lambda: MLP(X.shape[1], 2, hidden_units=hidden),
        batch_size=config.threads_mlp_batch_size,
    )


def synthetic_images(n_rows: int, size: int, n_classes: int = 10, seed: int = 0):
    """``(n_rows, 1, size, size)`` float32 images: a class template plus noise."""
    rng = np.random.default_rng(seed)
    templates = rng.normal(size=(n_classes, 1, size, size))
    y = rng.integers(0, n_classes, size=n_rows)
    X = templates[y] + rng.normal(scale=2.0, size=(n_rows, 1, size, size))
    return X.astype(np.float32), y


def image_convnet(config: BenchmarkConfig) -> Workload:
    """nnestimators' default ConvNet on synthetic 28x28 images."""
    from nnestimators.modules import ConvNet

    size = config.threads_conv_image_size
    X, y = synthetic_images(config.threads_conv_rows, size, seed=config.seed)
    return Workload(
        key="convnet",
        label=f"ConvNet (default), {config.threads_conv_rows:,} synthetic "
        f"{size}x{size} images, batch {config.threads_conv_batch_size}, "
        f"{config.threads_conv_epochs} epoch(s)",
        X=X,
        y=y,
        params={
            "module": ConvNet,
            "max_epochs": config.threads_conv_epochs,
            "batch_size": config.threads_conv_batch_size,
        },
        make_module=lambda: ConvNet((1, size, size), 10),
        batch_size=config.threads_conv_batch_size,
    )


def estimator_default_n_threads():
    """The ``n_threads`` an ``NNClassifier`` gets when it is not given one."""
    from nnestimators import NNClassifier

    return inspect.signature(NNClassifier).parameters["n_threads"].default


def fixed_counts(cores: int) -> list[int]:
    """1, 2, 4, ... up to ``cores``, and ``cores`` itself."""
    counts, count = [], 1
    while count < cores:
        counts.append(count)
        count *= 2
    counts.append(cores)
    return counts


class ThreadRecorder(Callback):
    """``torch.get_num_threads()`` at each epoch, i.e. what the fit ran with."""

    def initialize(self):
        self.seen = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


@dataclass
class ThreadResults:
    """Fit seconds per (condition, workload, variant), in run order."""

    variants: list[str]
    workloads: dict[str, str]  # key -> label
    default_value: object
    cores: int
    seconds: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    # Thread counts each variant's fits ran with.
    threads_seen: dict[tuple[str, str, str], set[int]] = field(default_factory=dict)
    unavailable: str | None = None

    def median(self, condition: str, workload: str, variant: str) -> float | None:
        return median(self.seconds.get((condition, workload, variant), []))

    def fixed_variants(self) -> list[str]:
        return [v for v in self.variants if v not in (DEFAULT, AUTO)]

    def best_fixed(self, condition: str, workload: str) -> tuple[str | None, float]:
        """The fastest fixed count (by median) and its median."""
        best, best_time = None, float("inf")
        for variant in self.fixed_variants():
            time = self.median(condition, workload, variant)
            if time is not None and time < best_time:
                best, best_time = variant, time
        return best, best_time

    def ratio_to_best(
        self, condition: str, workload: str, variant: str = DEFAULT
    ) -> float | None:
        best, best_time = self.best_fixed(condition, workload)
        if best is None:
            return None
        return ratio(self.median(condition, workload, variant), best_time)


def variant_label(count: int) -> str:
    return f"{count} thread" + ("s" if count > 1 else "")


def _n_threads_for(variant: str, workload: Workload):
    """The ``n_threads`` argument of one variant, or the default (not passed)."""
    if variant == DEFAULT:
        return None
    if variant == AUTO:
        # Until the estimators accept "auto": the count they would choose,
        # worked out here (inside the timed call) and passed explicitly.
        from nnestimators.runtime import resolve_n_threads

        return resolve_n_threads(
            "auto",
            module=workload.make_module(),
            input_shape=workload.X.shape[1:],
            batch_size=workload.batch_size,
            device="cpu",
        )
    return int(variant.split()[0])


def fit_once(workload: Workload, variant: str, seed: int) -> tuple[float, set[int]]:
    """Seconds for one fit of ``workload`` with ``variant``, and its threads."""
    from nnestimators import NNClassifier

    recorder = ThreadRecorder()

    def fit():
        params = {
            **workload.params,
            "device": "cpu",
            "validation_fraction": None,
            "random_state": seed,
            "verbose": 0,
            "callbacks": [recorder],
        }
        n_threads = _n_threads_for(variant, workload)
        if n_threads is not None:
            params["n_threads"] = n_threads
        return NNClassifier(**params).fit(workload.X, workload.y)

    timing, _ = timed(fit)
    return timing.wall, set(recorder.seen)


@contextlib.contextmanager
def torch_default_threads() -> Iterator[None]:
    """torch's and BLAS's own thread counts inside the block (the suite pins 1)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(TORCH_DEFAULT_THREADS)
    try:
        with threadpool_limits(limits=TORCH_DEFAULT_THREADS):
            yield
    finally:
        torch.set_num_threads(previous)


def run_thread_scenario(config: BenchmarkConfig, log: Log) -> ThreadResults:
    """Quiet and busy passes, interleaved, over both workloads and all variants."""
    cores = usable_cores()
    default_value = estimator_default_n_threads()
    variants = [DEFAULT] + ([] if default_value == AUTO else [AUTO])
    variants += [variant_label(count) for count in fixed_counts(cores)]
    workloads = [breast_cancer_mlp(config), image_convnet(config)]
    results = ThreadResults(
        variants=variants,
        workloads={w.key: w.label for w in workloads},
        default_value=default_value,
        cores=cores,
    )
    with torch_default_threads(), Hogs(cores) as hogs:
        # Untimed: lazy imports and one-off setup (oneDNN kernels for the convs).
        for workload in workloads:
            fit_once(workload, variant_label(1), config.seed)
        for repeat in range(config.threads_repeats):
            # Alternate which condition goes first, so drift hits both alike.
            conditions = CONDITIONS if repeat % 2 == 0 else CONDITIONS[::-1]
            for condition in conditions:
                if condition == BUSY:
                    hogs.busy()
                else:
                    hogs.quiet()
                shift = repeat % len(variants)
                order = variants[shift:] + variants[:shift]
                for workload in workloads:
                    for variant in order:
                        seconds, seen = fit_once(workload, variant, config.seed)
                        key = (condition, workload.key, variant)
                        results.seconds.setdefault(key, []).append(seconds)
                        results.threads_seen.setdefault(key, set()).update(seen)
                        log(
                            f"threads repeat {repeat + 1}/{config.threads_repeats} "
                            f"{condition} {workload.key} {variant}: {seconds:.3f}s "
                            f"(threads {sorted(seen)})"
                        )
            hogs.quiet()
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks threads [--quick] [--repeats N] [--out FILE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks threads",
        description="Only the thread scenario: the default n_threads against "
        "fixed counts, on a quiet machine and beside one busy process per core.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--repeats", type=int, help="quiet/busy repeats")
    parser.add_argument("--out", type=Path, help="write the table here (markdown)")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    if args.repeats is not None:
        config = replace(config, threads_repeats=args.repeats)
    start = time.perf_counter()

    def log(message: str) -> None:
        elapsed = time.perf_counter() - start
        print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)

    from benchmarks.machine import format_load, load_averages
    from benchmarks.report import thread_table

    load_before = load_averages()
    results = run_thread_scenario(config, log)
    table = thread_table(results)
    page = (
        "# Threads: the default n_threads on a quiet and on a busy machine\n\n"
        + "".join(f"- `{k}`: {label}\n" for k, label in results.workloads.items())
        + f"- load average (1/5/15 min) before: {format_load(load_before)}, "
        f"after: {format_load(load_averages())}\n\n{table}\n"
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(page, encoding="utf-8")
        log(f"wrote {args.out}")
    print(page)
    return 0
