"""``python -m benchmarks gpu``: the estimators on one CUDA device, in minutes.

Checks, for an MLP (100,000 x 20 table) and a ConvNet (synthetic 28x28
images), each fitted with ``device="auto"``:

- the fit runs on CUDA;
- the training data stay on the device: CUDA host-to-device copies
  ("Memcpy HtoD", counted with ``torch.profiler``) during one whole epoch,
  against the epoch's number of batches;
- throughput (rows per second of fit) against a hand-written CUDA loop on the
  same data, network and optimizer: the median of interleaved repeats;
- a diverging fit on the GPU raises ``TrainingDivergedError`` with the same
  message as on the CPU;
- a checkpoint written during a CUDA fit loads with ``device="cpu"`` and
  predicts what the CUDA estimator predicts.

One table goes to stdout and, with ``--out``, to a markdown file. Without
CUDA it prints why and exits with status 0. ``--device cpu`` runs the same
code on the CPU (a dry run for development: nothing is measured on a GPU).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

from benchmarks.data import make_dataset
from benchmarks.implementations import make_adam
from benchmarks.machine import describe_machine
from benchmarks.thread_scenario import synthetic_images

PASS, FAIL, INFO = "PASS", "FAIL", "info"


@dataclass(frozen=True)
class GpuSizes:
    """Rows, batch sizes, epochs and timed repeats of the check."""

    mlp_rows: int = 100_000
    mlp_batch_size: int = 512
    mlp_epochs: int = 3
    image_rows: int = 10_000
    image_batch_size: int = 128
    image_epochs: int = 2
    repeats: int = 3


QUICK_SIZES = GpuSizes(
    mlp_rows=2_000,
    mlp_batch_size=128,
    mlp_epochs=2,
    image_rows=256,
    image_batch_size=64,
    image_epochs=2,
    repeats=1,
)


@dataclass(frozen=True)
class Workload:
    """One network, its data and its training length."""

    key: str
    X: np.ndarray
    y: np.ndarray
    params: dict
    make_module: Callable[[], nn.Module]
    batch_size: int
    epochs: int


def workloads(sizes: GpuSizes) -> list[Workload]:
    from nnestimators.modules import MLP, ConvNet

    X, y = make_dataset(sizes.mlp_rows)
    images, labels = synthetic_images(sizes.image_rows, 28)
    return [
        Workload(
            key="mlp",
            X=X,
            y=y,
            params={"module": MLP, "module__hidden_units": (64, 64)},
            make_module=lambda: MLP(X.shape[1], 2, hidden_units=(64, 64)),
            batch_size=sizes.mlp_batch_size,
            epochs=sizes.mlp_epochs,
        ),
        Workload(
            key="convnet",
            X=images,
            y=labels,
            params={"module": ConvNet},
            make_module=lambda: ConvNet((1, 28, 28), 10),
            batch_size=sizes.image_batch_size,
            epochs=sizes.image_epochs,
        ),
    ]


def make_estimator(workload: Workload, device: str, **params):
    from nnestimators import NNClassifier

    module_params = workload.params
    if "module" in params:  # another network: none of the workload's module__*
        module_params = {}
    defaults = {
        **module_params,
        "device": device,
        "max_epochs": workload.epochs,
        "batch_size": workload.batch_size,
        "optimizer": torch.optim.Adam,
        "lr": 1e-3,
        "validation_fraction": None,
        "random_state": 0,
        "verbose": 0,
    }
    return NNClassifier(**{**defaults, **params})


def _synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def hand_loop(workload: Workload, device: str) -> nn.Module:
    """A plain CUDA training loop: data moved once, batches sliced on device."""
    torch.manual_seed(0)
    X = torch.as_tensor(workload.X, device=device)
    y = torch.as_tensor(workload.y, device=device)
    model = workload.make_module().to(device)
    optimizer, _ = make_adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(workload.epochs):
        order = torch.randperm(len(X), device=device)
        total = torch.zeros((), device=device)
        for start in range(0, len(X), workload.batch_size):
            idx = order[start : start + workload.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
        total.item()  # one read per epoch, as the estimators do
    return model


def _seconds(fn, device: str) -> float:
    _synchronize(device)
    start = time.perf_counter()
    fn()
    _synchronize(device)
    return time.perf_counter() - start


class EpochProfiler(Callback):
    """Counts host-to-device copies (CUDA memcpy events) during one epoch."""

    def __init__(self, epoch: int = 2):
        self.epoch = epoch

    def initialize(self):
        self.seen_epochs = 0
        self.copies = None
        self.error = None
        self._profile = None
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.seen_epochs += 1
        if self.seen_epochs != self.epoch:
            return
        from torch.profiler import ProfilerActivity, profile

        activities = [ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(ProfilerActivity.CUDA)
        try:
            self._profile = profile(activities=activities)
            self._profile.start()
        except Exception as error:  # a profiler that cannot start here
            self.error = f"{type(error).__name__}: {error}"
            self._profile = None

    def on_epoch_end(self, net, **kwargs):
        if self._profile is None or self.seen_epochs != self.epoch:
            return
        _synchronize(net.device_)
        try:
            self._profile.stop()
            self.copies = sum(
                1
                for event in self._profile.events()
                if "memcpy" in event.name.lower() and "htod" in event.name.lower()
            )
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
        self._profile = None


class InfiniteOutput(nn.Module):
    """A linear layer whose outputs are multiplied by infinity: the loss is NaN."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.linear(X.flatten(1)) * float("inf")


@dataclass
class Row:
    check: str
    network: str
    measured: str
    status: str


def check_device_and_residency(workload: Workload, device: str) -> list[Row]:
    profiler = EpochProfiler(epoch=2)
    epochs = max(2, workload.epochs)
    model = make_estimator(workload, "auto" if device == "cuda" else device)
    model.set_params(callbacks=[profiler], max_epochs=epochs)
    model.fit(workload.X, workload.y)
    on_device = torch.device(model.device_).type == torch.device(device).type
    rows = [
        Row(
            'device="auto" fits on the GPU' if device == "cuda" else "device",
            workload.key,
            f"device_={model.device_!r}",
            PASS if on_device else FAIL,
        )
    ]
    batches = -(-len(workload.X) // workload.batch_size)
    if profiler.copies is None:
        measured = f"not measured ({profiler.error or 'profiler gave no events'})"
        status = INFO
    else:
        # A handful of small copies (a scalar, a seed) is fine; one per batch
        # means the batches travel from the host.
        measured = f"{profiler.copies} HtoD copies in an epoch of {batches} batches"
        status = PASS if profiler.copies < max(2, batches // 10) else FAIL
        if device != "cuda":
            status = INFO
    rows.append(Row("training data stay on the device", workload.key, measured, status))
    return rows


def check_throughput(workload: Workload, device: str, repeats: int) -> Row:
    estimator_device = "auto" if device == "cuda" else device
    # Warm-up: CUDA context, cuDNN autotuning, lazy imports.
    make_estimator(workload, estimator_device, max_epochs=1).fit(workload.X, workload.y)
    hand_loop(workload, device)
    ours, hand = [], []
    for repeat in range(repeats):
        runs = [
            (
                ours,
                lambda: make_estimator(workload, estimator_device).fit(
                    workload.X, workload.y
                ),
            ),
            (hand, lambda: hand_loop(workload, device)),
        ]
        if repeat % 2:
            runs.reverse()
        for times, fn in runs:
            times.append(_seconds(fn, device))
    rows = len(workload.X) * workload.epochs
    ours_rate = rows / statistics.median(ours)
    hand_rate = rows / statistics.median(hand)
    return Row(
        "fit throughput vs a hand-written loop",
        workload.key,
        f"{ours_rate:,.0f} rows/s vs {hand_rate:,.0f} rows/s "
        f"(nnestimators ÷ hand loop time: {hand_rate / ours_rate:.2f}×; "
        f"batch {workload.batch_size}, {workload.epochs} epochs, "
        f"median of {repeats})",
        INFO,
    )


def _divergence_message(workload: Workload, device: str) -> str | None:
    from nnestimators.training.divergence import TrainingDivergedError

    model = make_estimator(workload, device, module=InfiniteOutput, max_epochs=2)
    try:
        model.fit(workload.X, workload.y)
    except TrainingDivergedError as error:
        return str(error)
    return None


def check_divergence(workload: Workload, device: str) -> Row:
    on_device = _divergence_message(workload, device)
    on_cpu = _divergence_message(workload, "cpu")
    if on_device is None:
        return Row(
            "divergence raises TrainingDivergedError",
            workload.key,
            "no error raised",
            FAIL,
        )
    # The same error and explanation; where it was noticed (which batch) may
    # differ if the GPU loop checks the loss less often.
    same = on_device == on_cpu
    clear = on_cpu is not None and on_device.split(":")[0] == on_cpu.split(":")[0]
    return Row(
        "divergence raises TrainingDivergedError",
        workload.key,
        f"{on_device!r}" + ("" if same else f"; on the CPU: {on_cpu!r}"),
        PASS if clear else FAIL,
    )


def check_checkpoint(workload: Workload, device: str) -> Row:
    from nnestimators import NNClassifier

    with tempfile.TemporaryDirectory() as folder:
        model = make_estimator(
            workload,
            device,
            checkpoint_dir=folder,
            validation_fraction=0.1,
            max_epochs=2,
        ).fit(workload.X, workload.y)
        loaded = NNClassifier.from_checkpoint(model.checkpoint_path_, device="cpu")
        rows = workload.X[:1000]
        gap = float(
            np.abs(model.predict_proba(rows) - loaded.predict_proba(rows)).max()
        )
        same_labels = bool(np.all(model.predict(rows) == loaded.predict(rows)))
    ok = same_labels and gap < 1e-4 and loaded.device_ == "cpu"
    return Row(
        "checkpoint written on the GPU loads on the CPU",
        workload.key,
        f"loaded device_={loaded.device_!r}; max |proba difference| {gap:.2e}; "
        f"same labels: {same_labels}",
        PASS if ok else FAIL,
    )


def run_checks(device: str, sizes: GpuSizes, log) -> list[Row]:
    rows = []
    checks = [
        ("device and residency", check_device_and_residency),
        ("throughput", lambda w, d: [check_throughput(w, d, sizes.repeats)]),
        ("divergence", lambda w, d: [check_divergence(w, d)]),
        ("checkpoint", lambda w, d: [check_checkpoint(w, d)]),
    ]
    for workload in workloads(sizes):
        for name, check in checks:
            log(f"{workload.key}: {name}")
            try:
                rows += check(workload, device)
            except Exception as error:  # report it and go on with the others
                traceback.print_exc(file=sys.stderr)
                rows.append(
                    Row(name, workload.key, f"{type(error).__name__}: {error}", FAIL)
                )
    return rows


def render(
    rows: list[Row], machine: dict[str, str], device: str, seconds: float
) -> str:
    from benchmarks.report import markdown_table

    table = markdown_table(
        ["check", "network", "measured", "status"],
        [[r.check, r.network, r.measured.replace("|", "\\|"), r.status] for r in rows],
        numeric=False,
    )
    gpu = (
        torch.cuda.get_device_name()
        if device == "cuda"
        else "none (dry run on the CPU)"
    )
    details = "\n".join(
        f"- {label}: {machine[label]}"
        for label in ("Date", "CPU", "torch", "nnestimators")
    )
    failed = sum(row.status == FAIL for row in rows)
    verdict = "All checks pass." if not failed else f"**{failed} check(s) FAIL.**"
    return f"""\
# GPU check

Generated by `python -m benchmarks gpu` (see `benchmarks/README.md`) in
{seconds:.0f} s.

- GPU: {gpu}
{details}

{table}

{verdict}
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks gpu",
        description="Fit the estimators on one CUDA device and check residency, "
        "throughput, divergence errors and checkpoints. Exits 0 without CUDA.",
    )
    parser.add_argument("--out", type=Path, help="also write the table here")
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument(
        "--device",
        default="cuda",
        choices=["cuda", "cpu"],
        help="cpu: a dry run of the same code, for development",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available on this machine: GPU check skipped.")
        return 0
    start = time.perf_counter()

    def log(message: str) -> None:
        elapsed = time.perf_counter() - start
        print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)

    sizes = QUICK_SIZES if args.quick else GpuSizes()
    if args.device == "cpu":
        # A dry run on a shared CPU: one thread keeps it quick and steady.
        torch.set_num_threads(1)
    rows = run_checks(args.device, sizes, log)
    page = render(rows, describe_machine(), args.device, time.perf_counter() - start)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(page, encoding="utf-8")
        log(f"wrote {args.out}")
    print(page)
    return 1 if any(row.status == FAIL for row in rows) else 0
