"""Turns measurements into markdown tables and the ``docs/benchmarks.md`` page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.config import BenchmarkConfig
from benchmarks.grid_search import (
    PARAM_GRID,
    GridSearchResult,
    n_candidates,
    n_fits,
)
from benchmarks.implementations import Implementation
from benchmarks.machine import Load, format_load
from benchmarks.measure import CellRecord, Results, median, ratio
from benchmarks.targets import HAND, MISS, NN, SKLEARN, SKORCH, TargetCheck
from benchmarks.thread_scenario import AUTO, CONDITIONS, DEFAULT, ThreadResults

MISSING = "–"
_MIB = 2**20


@dataclass
class RunSummary:
    """Everything one run produced, as the report needs it."""

    config: BenchmarkConfig
    machine: dict[str, str]
    implementations: Sequence[Implementation]
    skipped: dict[str, str]
    results: Results
    grid: GridSearchResult
    targets: list[TargetCheck]
    memory_method: str
    adam_variant: str
    loads: dict[str, Load | None]  # when -> 1/5/15-minute load averages
    usable_cores: int
    threads: ThreadResults | None = None


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: bool = True
) -> str:
    """A GitHub-flavoured markdown table; first column left, numbers right."""
    align = [":--"] + [("--:" if numeric else ":--")] * (len(headers) - 1)
    lines = [headers, align, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _seconds(value: float | None) -> str:
    return MISSING if value is None else f"{value:.3f}"


def _times(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}×"


def _mib(value: int) -> str:
    return f"{value / _MIB:.1f}"


def _cells(config: BenchmarkConfig) -> list[tuple[int, int]]:
    return [(n, b) for n in config.n_rows for b in config.batch_sizes]


def _cell_label(n_rows: int, batch_size: int) -> list[str]:
    return [f"{n_rows:,}", str(batch_size)]


def _per_impl_table(
    summary: RunSummary, describe: Callable[[CellRecord | None], str]
) -> str:
    """Rows = (rows, batch size) cells, one column per implementation."""
    impls = summary.implementations
    headers = ["rows", "batch", *(impl.key for impl in impls)]
    rows = [
        _cell_label(n, b)
        + [describe(summary.results.get(impl.key, n, b)) for impl in impls]
        for n, b in _cells(summary.config)
    ]
    return markdown_table(headers, rows)


def _fit_cell(record: CellRecord | None) -> str:
    if record is None or not record.fit_seconds:
        return MISSING
    runs = record.fit_seconds
    if len(runs) == 1:
        return _seconds(runs[0])
    return f"{_seconds(median(runs))} ({min(runs):.3f}–{max(runs):.3f})"


def _fit_cpu_cell(record: CellRecord | None) -> str:
    return MISSING if record is None else _seconds(median(record.fit_cpu_seconds))


def _predict_cell(record: CellRecord | None) -> str:
    return MISSING if record is None else _seconds(median(record.predict_seconds))


def _memory_cell(record: CellRecord | None) -> str:
    if record is None or record.memory is None:
        return MISSING
    return f"{_mib(record.memory.traced_peak)} / {_mib(record.memory.rss_peak_delta)}"


def _accuracy_cell(record: CellRecord | None) -> str:
    if record is None or record.train_accuracy is None:
        return MISSING
    return f"{record.train_accuracy:.3f}"


def _ratio_table(summary: RunSummary, metric: Callable[..., float | None]) -> str:
    """Ratios of medians: against the hand loop, and nnestimators' speed-ups."""
    headers = [
        "rows",
        "batch",
        "nnestimators ÷ hand loop",
        "skorch ÷ hand loop",
        "MLPClassifier ÷ hand loop",
        "nnestimators speed-up vs skorch",
        "nnestimators speed-up vs MLPClassifier",
    ]
    rows = []
    for n, b in _cells(summary.config):
        time = {key: metric(key, n, b) for key in (NN, HAND, SKORCH, SKLEARN)}
        rows.append(
            _cell_label(n, b)
            + [
                _times(ratio(time[NN], time[HAND])),
                _times(ratio(time[SKORCH], time[HAND])),
                _times(ratio(time[SKLEARN], time[HAND])),
                _times(ratio(time[SKORCH], time[NN])),
                _times(ratio(time[SKLEARN], time[NN])),
            ]
        )
    return markdown_table(headers, rows)


def grid_search_table(grid: GridSearchResult) -> str:
    if grid.unavailable:
        return f"_Not run: {grid.unavailable}_"
    headers = [
        "n_jobs",
        "median s",
        "all runs s (in order)",
        "speed-up vs n_jobs=1",
        "control median s",
        "control speed-up",
    ]
    rows = [
        [
            str(n_jobs),
            _seconds(grid.median(n_jobs)),
            ", ".join(f"{s:.2f}" for s in runs),
            _times(grid.speed_up(n_jobs)),
            _seconds(grid.control_median(n_jobs)),
            _times(grid.control_speed_up(n_jobs)),
        ]
        for n_jobs, runs in grid.seconds.items()
    ]
    return markdown_table(headers, rows)


def _threads_seen(threads: ThreadResults, key: tuple[str, str, str]) -> str:
    seen = threads.threads_seen.get(key)
    return ", ".join(map(str, sorted(seen))) if seen else MISSING


def thread_table(threads: ThreadResults | None) -> str:
    """Fit seconds per thread setting, quiet and busy, and default ÷ best fixed."""
    if threads is None:
        return "_Not run (--no-threads)._"
    if threads.unavailable:
        return f"_Not run: {threads.unavailable}_"
    variants = threads.variants
    headers = [
        "network",
        "machine",
        *(f"{v} s" for v in variants),
        "best fixed",
        "default ÷ best fixed",
    ]
    if AUTO in variants:
        headers.append("auto ÷ best fixed")
    headers += [f"threads used by {v}" for v in variants if v in (DEFAULT, AUTO)]
    rows = []
    for key in threads.workloads:
        for condition in CONDITIONS:
            best, _ = threads.best_fixed(condition, key)
            row = [key, condition]
            row += [_seconds(threads.median(condition, key, v)) for v in variants]
            row += [best or MISSING, _times(threads.ratio_to_best(condition, key))]
            if AUTO in variants:
                row.append(_times(threads.ratio_to_best(condition, key, AUTO)))
            row += [
                _threads_seen(threads, (condition, key, v))
                for v in variants
                if v in (DEFAULT, AUTO)
            ]
            rows.append(row)
    return markdown_table(headers, rows)


def _threads_section(summary: RunSummary) -> str:
    threads = summary.threads
    if threads is None or threads.unavailable:
        return thread_table(threads)
    c = summary.config
    workloads = "\n".join(
        f"- `{key}`: {label}" for key, label in threads.workloads.items()
    )
    auto_note = (
        ""
        if AUTO not in threads.variants
        else f"""
- **auto** is the thread count `nnestimators.runtime.resolve_n_threads("auto",
  ...)` picks for the fit (worked out inside the timed call and passed as
  `n_threads`): the estimators' default is still `n_threads=
  {threads.default_value!r}`, so this row shows what `"auto"` will do once it
  is the default."""
    )
    return f"""\
{workloads}

- **default** is an `NNClassifier` fitted without `n_threads` (its default,
  `{threads.default_value!r}`), with torch's own thread count in the process
  ({threads.cores} usable core(s)); the fixed counts pass `n_threads=k`.{auto_note}
- **busy**: one spinning Python process per usable core ({threads.cores}) runs
  beside the fits (`benchmarks/busy.py`); **quiet**: they sleep. Quiet and busy
  passes alternate, {c.threads_repeats} repeat(s), every setting back to back
  in an order rotated per repeat; wall-clock fit time, medians. After each
  switch the run waits 1.5 s.
- **best fixed** is the fastest fixed count by median; the target is default ÷
  best fixed ≤ 1.2 in every cell.
- **The `"auto"` rule** (`nnestimators/threads.py`): one thread per 16 million
  floating-point operations of a step (training: 3 × the forward pass of a
  batch, counted once per fit with forward hooks on a one-sample dummy), at
  least 1, at most the budget (`OMP_NUM_THREADS`, a Dask worker's share,
  usable cores, torch's setting), and never more than the cores other
  processes leave free (runnable threads in `/proc/loadavg` less this
  process's). The MLP here is 0.8 million operations per step (1 thread); the
  ConvNet about 1,600 million (every free core).

{thread_table(threads)}"""


def target_lines(targets: Sequence[TargetCheck]) -> str:
    """One bullet per target: ``- **PASS** description: measured``."""
    return "\n".join(
        f"- **{check.status}** {check.description}: {check.measured}"
        for check in targets
    )


def missed_targets_section(targets: Sequence[TargetCheck]) -> str:
    """A marked place per missed target for a maintainer's explanation."""
    missed = [check for check in targets if check.status == MISS]
    if not missed:
        return "All measured targets pass."
    lines = [
        "### Missed targets: explanation",
        "",
        f"**{len(missed)} target(s) missed.** The script does not guess causes; "
        "a maintainer must replace each *EXPLANATION PENDING* below with the "
        "measured cause (profile, trace) and the planned fix. Regenerating this "
        "page overwrites the explanations, so keep a copy.",
        "",
    ]
    lines += [
        f"- {check.description}: {check.measured}. **EXPLANATION PENDING**"
        for check in missed
    ]
    return "\n".join(lines)


def _machine_section(summary: RunSummary) -> str:
    rows = [[label, value] for label, value in summary.machine.items()]
    rows += [
        [f"Load average (1/5/15 min) {when}", format_load(load)]
        for when, load in summary.loads.items()
    ]
    return markdown_table(["", "value"], rows, numeric=False)


def _implementations_section(summary: RunSummary) -> str:
    lines = []
    for impl in summary.implementations:
        reason = summary.skipped.get(impl.key)
        note = f" (**not run**: {reason})" if reason else ""
        lines.append(f"- `{impl.key}`: {impl.label}{note}")
    return "\n".join(lines)


def _method_section(summary: RunSummary) -> str:
    c = summary.config
    net = "-".join(str(u) for u in (c.n_features, *c.hidden_units, 1))
    return f"""\
- **Same work for everyone.** Data: `make_classification(n_samples=rows,
  n_features={c.n_features}, random_state={c.seed})`, `X` float32, `y` 0/1.
  Network {net} with ReLU, Adam with lr={c.lr:g}, {c.epochs} epoch(s), shuffled
  mini-batches, binary cross-entropy on logits (MLPClassifier: log-loss).
- **Implementations.** The hand loop builds tensors once, draws a
  `torch.randperm` per epoch, slices batches as `X[idx[i:i+B]]`, uses
  `torch.optim.Adam` ({summary.adam_variant}) with `zero_grad(set_to_none=True)`
  and reads the device-side loss sum once per epoch. Stock skorch runs with
  `train_split=None`, `iterator_train__shuffle=True` (its default is no
  shuffling) and `y` cast to float32 for `BCEWithLogitsLoss`. MLPClassifier runs
  with `tol=0, n_iter_no_change=1000` so it trains all {c.epochs} epoch(s).
- **Fit time** is the wall-clock time of `fit` from the numpy arrays (tensor
  conversion and module/optimizer construction included). **Predict time** is
  `predict_proba` on all training rows; for the hand loop, one forward pass over
  all rows under `torch.inference_mode()` plus a sigmoid (the estimators predict
  in batches of `batch_size`, which shows at small batches).
- **Repeats.** One untimed warm-up fit per implementation, then {c.repeats}
  repeat(s) over the grid. Within a repeat every (rows, batch) cell runs all
  implementations back to back, in an order rotated each repeat, so load drift on
  this shared machine hits all of them alike. Figures are **medians**; the fit
  table also shows the min–max over the repeats.
- **CPU time** (`time.process_time`, this process's threads) is recorded next
  to the wall clock. With {c.threads} torch/BLAS thread(s) it is the time the
  fit actually ran on a core, far less sensitive than wall time to other
  processes competing for the cores (not immune: caches and SMT siblings are
  shared). Targets are judged on wall-clock time; the CPU-time figure is shown
  beside each for reference.
- **Ratios** are ratios of medians. "× the hand loop" = implementation time ÷
  hand-loop time (1.00 = as fast, lower is better). "speed-up vs X" = X's time ÷
  nnestimators' time (above 1 = nnestimators is faster).
- **Threads.** `torch.set_num_threads({c.threads})` and a BLAS limit of
  {c.threads} (threadpoolctl) for the whole process, so all four implementations
  get the same cores (nnestimators gets `n_threads` set to the same number).
  Grid-search workers are separate processes: joblib exports
  `OMP_NUM_THREADS=max(cores // n_jobs, 1)` to each, which nnestimators honours.
- **Peak memory** comes from one extra, untimed fit per cell (tracemalloc slows
  Python-heavy code, so it is kept out of the timed runs). *traced* = tracemalloc
  peak above the start: Python objects and numpy arrays, **not** torch tensor
  storage (allocated in C++). *RSS Δ* = {summary.memory_method}: the whole
  process, torch included; memory the allocator reuses from earlier fits is not
  counted, so it shows new memory the fit had to take from the OS.
- **GridSearchCV**: {n_candidates()} candidates (`{_grid_text()}`) × {c.grid_folds}
  folds on {c.grid_rows:,} rows, {c.grid_epochs} epoch(s), batch
  {c.grid_batch_size}, `refit=False` (only the parallelisable fits are timed),
  n_jobs in {list(c.grid_n_jobs)} interleaved, {c.grid_repeats} repeat(s), median.
  The first run with n_jobs > 1 includes starting the worker processes.
  **Control:** after each search, {n_fits(c)} joblib tasks of a pure-Python busy
  loop (no torch, no BLAS) at the same n_jobs. Its speed-up is what a second
  free core gave any work during this run; on a shared machine it can be far
  below 2."""


def _grid_text() -> str:
    return ", ".join(f"{name}={values}" for name, values in PARAM_GRID.items())


def _busy_machine_note(summary: RunSummary) -> str:
    """A warning when the 1-minute load exceeded the cores during the run."""
    one_minute = [load[0] for load in summary.loads.values() if load is not None]
    if not one_minute or max(one_minute) <= summary.usable_cores:
        return ""
    return (
        f"> **Busy machine:** the 1-minute load average reached "
        f"{max(one_minute):.1f} on {summary.usable_cores} usable cores during "
        "this run, so other processes competed for the CPU. Wall-clock figures "
        "are noisy; compare them with the CPU-time tables.\n\n"
    )


def render_markdown(summary: RunSummary) -> str:
    """The full ``docs/benchmarks.md`` page."""
    c = summary.config
    results = summary.results
    quick_note = (
        "> **Quick mode (smoke test): tiny sizes, one repeat. These figures say "
        "nothing about performance.**\n\n"
        if c.quick
        else ""
    )
    return f"""\
# Benchmarks

{quick_note}{_busy_machine_note(summary)}Generated by `python -m benchmarks --out docs/benchmarks.md`
(see `benchmarks/README.md`). Regenerate rather than edit, except for the
explanations of missed targets.

## Machine

{_machine_section(summary)}

## Implementations

{_implementations_section(summary)}

## Method

{_method_section(summary)}

## Fit time (seconds, median and min–max)

{_per_impl_table(summary, _fit_cell)}

## Fit-time ratios

{_ratio_table(summary, results.fit_median)}

## Fit CPU time (seconds, median)

{_per_impl_table(summary, _fit_cpu_cell)}

## Fit CPU-time ratios

{_ratio_table(summary, results.fit_cpu_median)}

## Predict time (seconds, median)

{_per_impl_table(summary, _predict_cell)}

## Predict-time ratios

{_ratio_table(summary, results.predict_median)}

## Peak memory during fit (MiB: traced / RSS Δ)

{_per_impl_table(summary, _memory_cell)}

## Training accuracy (sanity check that every implementation learned)

{_per_impl_table(summary, _accuracy_cell)}

## GridSearchCV

{grid_search_table(summary.grid)}

## Threads: the default n_threads on a quiet and on a busy machine

{_threads_section(summary)}

## Targets

{target_lines(summary.targets)}

{missed_targets_section(summary.targets)}
"""


def render_console(summary: RunSummary) -> str:
    """The tables and targets for stdout (markdown reads fine as plain text)."""
    results = summary.results
    sections = [
        ("Fit time (s, median and min–max)", _per_impl_table(summary, _fit_cell)),
        ("Fit-time ratios", _ratio_table(summary, results.fit_median)),
        ("Fit CPU-time ratios", _ratio_table(summary, results.fit_cpu_median)),
        ("Predict time (s, median)", _per_impl_table(summary, _predict_cell)),
        ("Peak memory (MiB, traced / RSS Δ)", _per_impl_table(summary, _memory_cell)),
        ("GridSearchCV", grid_search_table(summary.grid)),
        ("Threads (fit s, quiet and busy)", thread_table(summary.threads)),
        ("Targets", target_lines(summary.targets)),
    ]
    threads = summary.machine.get("torch threads (intra-op)", "?")
    header = f"torch threads: {threads}; CPU: {summary.machine.get('CPU', '?')}"
    return "\n\n".join([header] + [f"{title}\n{body}" for title, body in sections])
