"""``python -m benchmarks gpu``: the estimators on one CUDA device, in minutes.

Checks, for an MLP (100,000 x 20 table) and a ConvNet (synthetic 28x28
images), each fitted with ``device="auto"``:

- the fit runs on CUDA;
- the training data stay on the device: CUDA host-to-device copies
  ("Memcpy HtoD", counted with ``torch.profiler``) during one whole epoch,
  against the epoch's number of batches; the same count over a control fit
  that copies every batch from the host must flag it, or the measurement is
  blind here (no CUPTI, say) and the check fails rather than pass;
- throughput (rows per second of fit) against a hand-written CUDA loop on the
  same data, network and optimizer: the median of interleaved repeats;
- a diverging fit on the GPU raises ``TrainingDivergedError`` with the same
  message as on the CPU;
- a checkpoint written during a CUDA fit loads with ``device="cpu"``: the
  same weights, bit for bit, on the CPU, and the CUDA estimator's
  predictions (TF32 off while comparing);
- the whole check ran in under 5 minutes.

One table goes to stdout and, with ``--out``, to a markdown file; the exit
status is 1 if a check fails. Without CUDA it prints why and exits with
status 0. ``--device cpu`` runs the same code on the CPU (a dry run for
development and for ``tests/test_gpu_check.py``: nothing is measured on a
GPU; "host-to-device copies" are then whole tensors copied with ``.to()``).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
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

# The bound on the whole check, on one CUDA device.
TIME_LIMIT_S = 300
# Largest |probability difference| between the CUDA estimator and the
# checkpoint loaded on the CPU (float32 on both, TF32 off): summation order
# alone differs, by about 1e-6.
PROBA_TOLERANCE = 1e-4
# Rows of the checkpoint comparison.
COMPARED_ROWS = 1000


@dataclass(frozen=True)
class GpuSizes:
    """Rows, batch sizes, epochs and timed repeats of the check."""

    mlp_rows: int = 100_000
    mlp_batch_size: int = 512
    mlp_epochs: int = 3
    image_rows: int = 10_000
    image_batch_size: int = 128
    image_epochs: int = 2
    convnet_channels: tuple[int, ...] = (32, 64)  # ConvNet's default
    repeats: int = 3


# --quick: a few seconds on one CPU thread (the dry run of the tests).
QUICK_SIZES = GpuSizes(
    mlp_rows=1_024,
    mlp_batch_size=128,
    mlp_epochs=2,
    image_rows=100,  # 10 held out for the checkpoint fit: one per class
    image_batch_size=25,
    image_epochs=2,
    convnet_channels=(4, 8),
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

    @property
    def batches(self) -> int:
        """Training batches per epoch (no validation split)."""
        return -(-len(self.X) // self.batch_size)


def workloads(sizes: GpuSizes) -> list[Workload]:
    from nnestimators.modules import MLP, ConvNet

    X, y = make_dataset(sizes.mlp_rows)
    images, labels = synthetic_images(sizes.image_rows, 28)
    channels = sizes.convnet_channels
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
            params={"module": ConvNet, "module__channels": channels},
            make_module=lambda: ConvNet((1, 28, 28), 10, channels=channels),
            batch_size=sizes.image_batch_size,
            epochs=sizes.image_epochs,
        ),
    ]


def estimator_device(device: str) -> str:
    """What the estimators are given: ``"auto"`` on CUDA, as the issue asks."""
    return "auto" if device == "cuda" else device


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


# -- residency: host-to-device copies during one epoch ------------------------


def is_host_to_device_copy(event, device_type: str) -> bool:
    """Whether a profiler event is a copy of data onto the training device.

    On CUDA: the GPU's own record of a host-to-device copy (CUPTI's memcpy
    activity, named "Memcpy HtoD (Pageable -> Device)" or "(Pinned ->
    Device)"); the CPU-side ``cudaMemcpyAsync`` calls are not counted, so no
    copy counts twice. In the dry run on the CPU, where nothing crosses a
    bus: a whole tensor copied with ``.to()`` (``aten::_to_copy`` on a tensor
    of at least one dimension), as a batch moved to the device would be;
    the 0-d scalars that optimizers and losses convert every step are not
    data.
    """
    name = event.name.lower()
    if device_type == "cuda":
        return "memcpy" in name and "htod" in name
    shapes = getattr(event, "input_shapes", None) or [[]]
    return name == "aten::_to_copy" and len(shapes[0]) > 0


def count_events(events: Iterable, device_type: str) -> tuple[int, int]:
    """(host-to-device copies, events recorded on the GPU) among ``events``."""
    from torch.autograd import DeviceType

    copies = on_gpu = 0
    for event in events:
        copies += is_host_to_device_copy(event, device_type)
        on_gpu += getattr(event, "device_type", DeviceType.CPU) == DeviceType.CUDA
    return copies, on_gpu


class EpochProfiler(Callback):
    """Counts host-to-device copies (see ``is_host_to_device_copy``) in one epoch.

    The profiler runs from the start of epoch ``epoch`` to its end, after the
    device has finished its queued work: the epoch's shuffle, every batch's
    gather, forward, backward and optimizer step, and the epoch-end
    callbacks. The second epoch by default, past the first one's lazy
    set-up (CUDA context, cuDNN, allocator).
    """

    def __init__(self, epoch: int = 2):
        self.epoch = epoch

    def initialize(self):
        self.seen_epochs = 0
        self.copies = None
        self.gpu_events = None
        self.error = None
        self._profile = None
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.seen_epochs += 1
        if self.seen_epochs != self.epoch:
            return
        from torch.profiler import ProfilerActivity, profile

        on_gpu = torch.device(net.device_).type == "cuda"
        activities = [ProfilerActivity.CPU]
        if on_gpu:
            activities.append(ProfilerActivity.CUDA)
        _synchronize(net.device_)  # earlier epochs' queued copies stay out
        try:
            # Shapes tell the dry run's whole tensors from scalars; on the GPU
            # they would only slow the reading of its ~50,000 events.
            self._profile = profile(activities=activities, record_shapes=not on_gpu)
            self._profile.start()
        except Exception as error:  # a profiler that cannot start here
            self.error = f"{type(error).__name__}: {error}"
            self._profile = None

    def on_epoch_end(self, net, **kwargs):
        if self._profile is None or self.seen_epochs != self.epoch:
            return
        _synchronize(net.device_)
        profile, self._profile = self._profile, None
        try:
            profile.stop()
            self.copies, self.gpu_events = count_events(
                profile.events(), torch.device(net.device_).type
            )
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"

    def on_train_end(self, net, **kwargs):
        self.close()

    def close(self):
        """Stop a profiler left running by a fit that raised mid-epoch."""
        profile, self._profile = getattr(self, "_profile", None), None
        if profile is not None:
            with contextlib.suppress(Exception):
                profile.stop()


class HostBatches:
    """A deliberately copying iterator: the control of the residency check.

    Given as ``iterator_train``, it slices every batch from host (NumPy)
    arrays and copies it onto the training device, inputs and targets: two
    host-to-device copies per batch, which the check must see.
    """

    def __init__(self, dataset, batch_size, shuffle=False, **kwargs):
        rows = dataset.rows
        targets = dataset.targets.cpu().numpy()
        self.X = np.ascontiguousarray(dataset.X)
        self.y = targets if rows is None else targets[rows]
        self.device = dataset.device
        self.batch_size = batch_size

    def __iter__(self):
        for start in range(0, len(self.X), self.batch_size):
            stop = start + self.batch_size
            yield (
                torch.from_numpy(self.X[start:stop]).to(self.device, copy=True),
                torch.from_numpy(self.y[start:stop]).to(self.device, copy=True),
            )


def residency_verdict(
    copies: int | None,
    control: int | None,
    batches: int,
    device: str,
    gpu_events: int | None = None,
    error: str | None = None,
) -> tuple[str, str]:
    """(measured, status) of the residency row.

    PASS needs both: the estimator's epoch makes fewer copies than a tenth
    of its batches, or than 4 on short epochs, and never as many as it has
    batches (one per batch means batches travel from the host; the epoch's
    shuffle order is one copy), and the control, which copies every batch,
    shows at least one per batch: otherwise the count is blind and zero
    copies would prove nothing.
    """
    unit = "HtoD copies" if device == "cuda" else "whole-tensor .to() copies"
    seen = f"; {gpu_events} GPU events recorded" if device == "cuda" else ""
    if copies is None or control is None:
        reason = error or "the profiler recorded nothing"
        return f"not measured ({reason})", FAIL
    measured = (
        f"{copies} {unit} in an epoch of {batches} batches; "
        f"{control} in a control that copies every batch{seen}"
    )
    if control < batches:
        hint = " (is CUPTI available?)" if device == "cuda" else ""
        return f"{measured}: the count is blind here{hint}", FAIL
    limit = min(batches, max(4, batches // 10))
    if copies >= limit:
        return f"{measured}: batches travel from the host", FAIL
    return measured, PASS


def check_device_and_residency(workload: Workload, device: str) -> list[Row]:
    epochs = max(2, workload.epochs)
    probe, control = EpochProfiler(epoch=2), EpochProfiler(epoch=2)
    try:
        model = make_estimator(
            workload, estimator_device(device), callbacks=[probe], max_epochs=epochs
        ).fit(workload.X, workload.y)
        make_estimator(
            workload,
            estimator_device(device),
            callbacks=[control],
            max_epochs=2,
            iterator_train=HostBatches,
        ).fit(workload.X, workload.y)
    finally:  # skorch calls no on_train_end when a fit raises
        probe.close()
        control.close()
    on_device = torch.device(model.device_).type == torch.device(device).type
    measured, status = residency_verdict(
        probe.copies,
        control.copies,
        workload.batches,
        device,
        gpu_events=probe.gpu_events,
        error=probe.error or control.error,
    )
    return [
        Row(
            'device="auto" fits on the GPU' if device == "cuda" else "device",
            workload.key,
            f"device_={model.device_!r}",
            PASS if on_device else FAIL,
        ),
        Row("training data stay on the device", workload.key, measured, status),
    ]


# -- throughput, divergence, checkpoint ---------------------------------------


def check_throughput(workload: Workload, device: str, repeats: int) -> Row:
    fit_device = estimator_device(device)
    # Warm-up: CUDA context, cuDNN autotuning, lazy imports.
    make_estimator(workload, fit_device, max_epochs=1).fit(workload.X, workload.y)
    hand_loop(workload, device)
    ours, hand = [], []
    for repeat in range(repeats):
        runs = [
            (
                ours,
                lambda: make_estimator(workload, fit_device).fit(
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


class InfiniteOutput(nn.Module):
    """A linear layer whose outputs are multiplied by infinity: the loss is NaN."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.linear(X.flatten(1)) * float("inf")


def _divergence_message(workload: Workload, device: str) -> str | None:
    from nnestimators.training.divergence import TrainingDivergedError

    model = make_estimator(workload, device, module=InfiniteOutput, max_epochs=2)
    try:
        model.fit(workload.X, workload.y)
    except TrainingDivergedError as error:
        return str(error)
    return None


def divergence_verdict(on_device: str | None, on_cpu: str | None) -> tuple[str, str]:
    """(measured, status): the same error, with the same explanation."""
    if on_device is None:
        return "no error raised", FAIL
    if on_cpu is None:
        return f"{on_device!r}; on the CPU: no error raised", FAIL
    measured = f"{on_device!r}"
    if on_device != on_cpu:
        measured += f"; on the CPU: {on_cpu!r}"
    # Where it was noticed (which batch) may differ; the explanation may not.
    clear = on_device.split(":")[0] == on_cpu.split(":")[0]
    return measured, PASS if clear else FAIL


def check_divergence(workload: Workload, device: str) -> Row:
    measured, status = divergence_verdict(
        _divergence_message(workload, estimator_device(device)),
        _divergence_message(workload, "cpu"),
    )
    return Row(
        "divergence raises TrainingDivergedError", workload.key, measured, status
    )


@contextlib.contextmanager
def no_tf32():
    """Full float32 matmuls and convolutions on the GPU inside the block.

    cuDNN convolutions use TF32 by default on Ampere and later GPUs: about
    1e-3 relative error, which no CPU reproduces. The legacy flags are set
    and restored: in torch >= 2.9 they set the new per-backend precisions
    too, consistently (mixing the two APIs is what torch refuses).
    """
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = (cudnn.allow_tf32, matmul.allow_tf32)
    cudnn.allow_tf32 = matmul.allow_tf32 = False
    try:
        yield
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = saved


def _state_on_cpu(module: nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def compare_weights(saved: dict, restored: dict) -> str:
    """How a loaded state dict compares with the saved one, bit for bit."""
    if any(tensor.device.type != "cpu" for tensor in restored.values()):
        return "not all on the CPU"
    same = saved.keys() == restored.keys() and all(
        saved[key].dtype == restored[key].dtype
        and torch.equal(saved[key], restored[key])
        for key in saved
    )
    return "identical" if same else "DIFFERENT"


def checkpoint_verdict(
    trained_on: str,
    loaded_device: str,
    weights: str,
    gap: float,
    decisive_label_changes: int,
    device: str,
) -> tuple[str, str]:
    """(measured, status) of the checkpoint row."""
    measured = (
        f"trained on {trained_on!r}, loaded on {loaded_device!r}; weights: "
        f"{weights}; max |proba difference| {gap:.2e}; labels that differ "
        f"where the top two classes are > {2 * PROBA_TOLERANCE:g} apart: "
        f"{decisive_label_changes}"
    )
    ok = (
        torch.device(trained_on).type == torch.device(device).type
        and loaded_device == "cpu"
        and weights == "identical"
        and gap < PROBA_TOLERANCE
        and decisive_label_changes == 0
    )
    return measured, PASS if ok else FAIL


def check_checkpoint(workload: Workload, device: str) -> Row:
    from nnestimators import NNClassifier

    with tempfile.TemporaryDirectory() as folder:
        model = make_estimator(
            workload,
            estimator_device(device),
            checkpoint_dir=folder,
            validation_fraction=0.1,
            max_epochs=2,
        ).fit(workload.X, workload.y)
        loaded = NNClassifier.from_checkpoint(model.checkpoint_path_, device="cpu")
    # The best epoch's weights, restored at the end of fit, are the saved ones.
    weights = compare_weights(_state_on_cpu(model.module_), loaded.module_.state_dict())
    rows = workload.X[:COMPARED_ROWS]
    with no_tf32():
        on_device = model.predict_proba(rows)
    on_cpu = loaded.predict_proba(rows)
    gap = float(np.abs(on_device - on_cpu).max())
    top2 = np.sort(on_device, axis=1)[:, -2:]
    decisive = (top2[:, 1] - top2[:, 0]) > 2 * PROBA_TOLERANCE
    changed = on_device.argmax(axis=1) != on_cpu.argmax(axis=1)
    measured, status = checkpoint_verdict(
        model.device_,
        loaded.device_,
        weights,
        gap,
        int(np.sum(changed & decisive)),
        device,
    )
    return Row(
        "checkpoint written on the GPU loads on the CPU", workload.key, measured, status
    )


@dataclass
class Row:
    check: str
    network: str
    measured: str
    status: str


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


def runtime_row(seconds: float, device: str) -> Row:
    within = seconds < TIME_LIMIT_S
    return Row(
        f"whole check under {TIME_LIMIT_S // 60} minutes",
        "all",
        f"{seconds:.0f} s",
        (PASS if within else FAIL) if device == "cuda" else INFO,
    )


def device_lines(device: str) -> str:
    if device != "cuda":
        return "- GPU: none (dry run on the CPU)"
    return (
        f"- GPU: {torch.cuda.get_device_name()}\n"
        f"- CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    )


def render(
    rows: list[Row], machine: dict[str, str], device: str, seconds: float
) -> str:
    from benchmarks.report import markdown_table

    table = markdown_table(
        ["check", "network", "measured", "status"],
        [[r.check, r.network, r.measured.replace("|", "\\|"), r.status] for r in rows],
        numeric=False,
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

{device_lines(device)}
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
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: seconds, for smoke tests"
    )
    parser.add_argument(
        "--device",
        default="cuda",
        choices=["cuda", "cpu"],
        help="cpu: a dry run of every step on the CPU, for development and tests",
    )
    return parser.parse_args(argv)


SKIP_MESSAGE = "CUDA is not available on this machine: GPU check skipped."


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(SKIP_MESSAGE)
        return 0
    start = time.perf_counter()

    def log(message: str) -> None:
        elapsed = time.perf_counter() - start
        print(f"[{elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)

    sizes = QUICK_SIZES if args.quick else GpuSizes()
    threads = torch.get_num_threads()
    if args.device == "cpu":
        # A dry run on a shared CPU: one thread keeps it quick and steady.
        torch.set_num_threads(1)
    try:
        rows = run_checks(args.device, sizes, log)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - start
    rows.append(runtime_row(seconds, args.device))
    page = render(rows, describe_machine(), args.device, seconds)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(page, encoding="utf-8")
        log(f"wrote {args.out}")
    print(page)
    return 1 if any(row.status == FAIL for row in rows) else 0
