"""Timing, memory probes and the container for repeated measurements."""

from __future__ import annotations

import gc
import re
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_PROC_STATUS = Path("/proc/self/status")
_PROC_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class Timing:
    """Seconds one call took: wall clock, and CPU time of this process."""

    wall: float
    # All threads of this process, children excluded. With one torch thread
    # this is the time the call really ran on a core: far less sensitive than
    # wall time to other processes competing for the cores.
    cpu: float


def timed(fn: Callable[[], T]) -> tuple[Timing, T]:
    """How long ``fn()`` took, and its result.

    A collection first, so that garbage left by the previous measurement is not
    billed to this one.
    """
    gc.collect()
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    result = fn()
    timing = Timing(
        wall=time.perf_counter() - wall_start, cpu=time.process_time() - cpu_start
    )
    return timing, result


def _proc_status_kib(field_name: str) -> int | None:
    """A ``VmXxx`` field of /proc/self/status in KiB, or None where unavailable."""
    try:
        text = _PROC_STATUS.read_text()
    except OSError:
        return None
    match = re.search(rf"^{field_name}:\s+(\d+)\s+kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _ru_maxrss_bytes() -> int:
    """Peak RSS of the process so far (getrusage: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _reset_rss_peak() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS (Linux >= 4.0)."""
    try:
        _PROC_CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _proc_status_kib("VmHWM") is not None


class RssPeakProbe:
    """Peak resident memory of this process during a call, minus RSS before it.

    On Linux the high-water mark (``VmHWM``) is reset before each call through
    ``/proc/self/clear_refs``, so every call gets its own peak. Elsewhere it
    falls back to ``getrusage`` ``ru_maxrss``, which cannot be reset: a call
    then shows a delta only when it exceeds every earlier peak of the process.
    """

    def __init__(self) -> None:
        self.resettable = _reset_rss_peak()

    @property
    def method(self) -> str:
        if self.resettable:
            return (
                "VmHWM from /proc/self/status, reset before each fit via "
                "/proc/self/clear_refs, minus VmRSS just before the fit"
            )
        return (
            "getrusage ru_maxrss delta (cannot be reset: only fits that exceed "
            "the process's earlier peak show a non-zero delta)"
        )

    def start(self) -> int:
        """Prepare for a call; returns the baseline in bytes."""
        if self.resettable:
            _reset_rss_peak()
            return _proc_status_kib("VmRSS") * 1024
        return _ru_maxrss_bytes()

    def peak_delta(self, baseline: int) -> int:
        """Bytes by which the peak since :meth:`start` exceeds the baseline."""
        if self.resettable:
            return _proc_status_kib("VmHWM") * 1024 - baseline
        return _ru_maxrss_bytes() - baseline


@dataclass(frozen=True)
class MemoryUsage:
    """Peak memory of one fit, in bytes."""

    traced_peak: int  # Python and numpy allocations (tracemalloc)
    rss_peak_delta: int  # whole process, including torch's C++ allocations


def measure_memory(
    probe: RssPeakProbe, fn: Callable[..., Any], *args: Any
) -> MemoryUsage:
    """Run ``fn(*args)`` once under tracemalloc and the RSS probe.

    tracemalloc slows Python-heavy code down a lot, so this run is never timed.
    """
    gc.collect()
    tracemalloc.start()
    traced_before, _ = tracemalloc.get_traced_memory()
    baseline = probe.start()
    result = fn(*args)
    rss_delta = probe.peak_delta(baseline)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return MemoryUsage(traced_peak - traced_before, max(rss_delta, 0))


@dataclass(frozen=True)
class CellKey:
    """One implementation on one (rows, batch size) cell of the grid."""

    impl: str
    n_rows: int
    batch_size: int


@dataclass
class CellRecord:
    """Everything measured for one :class:`CellKey`."""

    fit_seconds: list[float] = field(default_factory=list)
    fit_cpu_seconds: list[float] = field(default_factory=list)
    predict_seconds: list[float] = field(default_factory=list)
    train_accuracy: float | None = None
    memory: MemoryUsage | None = None


class Results:
    """Measurements of the fit/predict grid, keyed by implementation and cell."""

    def __init__(self) -> None:
        self._records: dict[CellKey, CellRecord] = {}

    def record(self, key: CellKey) -> CellRecord:
        """The record for ``key``, created empty on first use."""
        return self._records.setdefault(key, CellRecord())

    def get(self, impl: str, n_rows: int, batch_size: int) -> CellRecord | None:
        return self._records.get(CellKey(impl, n_rows, batch_size))

    def fit_median(self, impl: str, n_rows: int, batch_size: int) -> float | None:
        record = self.get(impl, n_rows, batch_size)
        return median(record.fit_seconds) if record else None

    def fit_cpu_median(self, impl: str, n_rows: int, batch_size: int) -> float | None:
        record = self.get(impl, n_rows, batch_size)
        return median(record.fit_cpu_seconds) if record else None

    def predict_median(self, impl: str, n_rows: int, batch_size: int) -> float | None:
        record = self.get(impl, n_rows, batch_size)
        return median(record.predict_seconds) if record else None


def median(values: list[float]) -> float | None:
    """Median, or None for no values."""
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or zero."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator
