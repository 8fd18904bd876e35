"""``python -m benchmarks gpu`` without a GPU: the dry run and its detectors.

The check has never run where it matters before a maintainer runs it on a
GPU, so everything but the CUDA calls themselves runs here: the whole check
on the CPU (``--device cpu --quick``), the residency count's controls (it
must flag batches copied from the host, and fail rather than pass when it
sees nothing at all), the verdicts of each row on made-up measurements
(CUDA profiler events included), the exit statuses and the skip without
CUDA. Timings are never asserted.
"""

import re
from types import SimpleNamespace

import pytest
import torch
from torch.autograd import DeviceType

from benchmarks import gpu

TINY = gpu.GpuSizes(
    mlp_rows=256,
    mlp_batch_size=32,
    mlp_epochs=2,
    image_rows=100,
    image_batch_size=25,
    image_epochs=2,
    convnet_channels=(4, 8),
    repeats=1,
)
CELL = re.compile(r"(?<!\\)\|")


@pytest.fixture
def quiet_torch():
    """One torch thread, and the global random state left as it was."""
    threads, state = torch.get_num_threads(), torch.get_rng_state()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.set_rng_state(state)


@pytest.fixture
def tiny_mlp():
    return gpu.workloads(TINY)[0]


def table_rows(page):
    rows = []
    for line in page.splitlines():
        if line.startswith("| ") and not line.startswith(("| check |", "| :--")):
            cells = [cell.strip() for cell in CELL.split(line)[1:-1]]
            rows.append(tuple(cells))
    return rows


def test_dry_run_on_the_cpu_runs_every_check(tmp_path, capsys, quiet_torch):
    out = tmp_path / "gpu.md"
    threads = torch.get_num_threads()

    assert gpu.main(["--device", "cpu", "--quick", "--out", str(out)]) == 0

    page = out.read_text(encoding="utf-8")
    assert page in capsys.readouterr().out
    assert "- GPU: none (dry run on the CPU)" in page
    assert page.rstrip().endswith("All checks pass.")
    assert torch.get_num_threads() == threads  # the dry run's one thread undone
    rows = table_rows(page)
    expected = [
        ("device", "PASS"),
        ("training data stay on the device", "PASS"),
        ("fit throughput vs a hand-written loop", "info"),
        ("divergence raises TrainingDivergedError", "PASS"),
        ("checkpoint written on the GPU loads on the CPU", "PASS"),
    ]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        *(
            (check, network, status)
            for network in ("mlp", "convnet")
            for check, status in expected
        ),
        ("whole check under 5 minutes", "all", "info"),
    ]
    measured = {(r[0], r[1]): r[2] for r in rows}
    # 1,024 rows in batches of 128, 100 images in batches of 25: no copies
    # from the estimators, two per batch (inputs, targets) from the control.
    assert measured["training data stay on the device", "mlp"] == (
        "0 whole-tensor .to() copies in an epoch of 8 batches; "
        "16 in a control that copies every batch"
    )
    assert measured["training data stay on the device", "convnet"] == (
        "0 whole-tensor .to() copies in an epoch of 4 batches; "
        "8 in a control that copies every batch"
    )
    for network in ("mlp", "convnet"):
        assert measured["divergence raises TrainingDivergedError", network].startswith(
            "'Training diverged: the training loss became NaN or infinite at epoch 1"
        )
        checkpoint = measured["checkpoint written on the GPU loads on the CPU", network]
        assert "trained on 'cpu', loaded on 'cpu'; weights: identical" in checkpoint
        assert re.search(
            r"rows/s vs [\d,]+ rows/s",
            measured["fit throughput vs a hand-written loop", network],
        )


def test_batches_copied_from_the_host_fail_the_residency_check(
    monkeypatch, quiet_torch, tiny_mlp
):
    # A regression of the estimators' fast path: every batch copied once more.
    from nnestimators.data import TensorBatches

    batches = TensorBatches.__iter__

    def copying(self):
        for Xb, yb in batches(self):
            yield Xb.to(Xb.device, copy=True), yb

    monkeypatch.setattr(TensorBatches, "__iter__", copying)
    device, residency = gpu.check_device_and_residency(tiny_mlp, "cpu")
    assert device.status == "PASS"
    assert residency.status == "FAIL"
    assert residency.measured.startswith(
        "8 whole-tensor .to() copies in an epoch of 8 batches; 16 in a control"
    )
    assert residency.measured.endswith("batches travel from the host")


def test_a_blind_count_fails_rather_than_passes(monkeypatch, quiet_torch, tiny_mlp):
    # A profiler that records no copies at all (no CUPTI, renamed events)
    # would show zero copies for the estimators: the control gives it away.
    monkeypatch.setattr(gpu, "is_host_to_device_copy", lambda event, kind: False)
    _, residency = gpu.check_device_and_residency(tiny_mlp, "cpu")
    assert residency.status == "FAIL"
    assert "0 in a control that copies every batch" in residency.measured
    assert residency.measured.endswith("the count is blind here")


def test_a_profiler_that_cannot_start_fails(monkeypatch, quiet_torch, tiny_mlp):
    def refuse(*args, **kwargs):
        raise RuntimeError("profiler unavailable")

    monkeypatch.setattr(torch.profiler, "profile", refuse)
    _, residency = gpu.check_device_and_residency(tiny_mlp, "cpu")
    assert (residency.measured, residency.status) == (
        "not measured (RuntimeError: profiler unavailable)",
        "FAIL",
    )


def cuda_event(name):
    return SimpleNamespace(name=name, device_type=DeviceType.CUDA)


def cpu_event(name, shapes=None):
    return SimpleNamespace(name=name, device_type=DeviceType.CPU, input_shapes=shapes)


def test_cuda_copies_are_the_gpus_htod_memcpy_records():
    # Names as CUPTI's memcpy activity reaches torch.profiler (Kineto).
    events = [
        cuda_event("Memcpy HtoD (Pageable -> Device)"),
        cuda_event("Memcpy HtoD (Pinned -> Device)"),
        cuda_event("Memcpy DtoH (Device -> Pageable)"),
        cuda_event("Memcpy DtoD (Device -> Device)"),
        cuda_event("void at::native::index_select_kernel<float>(...)"),
        cpu_event("cudaMemcpyAsync"),  # the CPU side of the same copies
        cpu_event("aten::copy_", [[32, 20], [32, 20], []]),
        cpu_event("aten::_to_copy", [[32, 20]]),
    ]
    assert gpu.count_events(events, "cuda") == (2, 5)
    # The dry run counts whole tensors copied with .to(), never scalars.
    assert gpu.count_events(events, "cpu") == (1, 5)
    scalars = [cpu_event("aten::_to_copy", [[], [], []]), cpu_event("aten::to")]
    assert gpu.count_events(scalars, "cpu") == (0, 0)


@pytest.mark.parametrize(
    ("copies", "control", "batches", "status", "ending"),
    [
        (0, 16, 8, "PASS", "16 in a control that copies every batch"),
        (3, 16, 8, "PASS", "16 in a control that copies every batch"),
        (4, 16, 8, "FAIL", "batches travel from the host"),
        (1, 4, 2, "PASS", "4 in a control that copies every batch"),
        (2, 4, 2, "FAIL", "batches travel from the host"),
        (1, 392, 196, "PASS", "every batch; 7 GPU events recorded"),
        (18, 392, 196, "PASS", "every batch; 7 GPU events recorded"),
        (19, 392, 196, "FAIL", "batches travel from the host"),
        (392, 392, 196, "FAIL", "batches travel from the host"),
        (0, 195, 196, "FAIL", "the count is blind here (is CUPTI available?)"),
        (0, 0, 196, "FAIL", "the count is blind here (is CUPTI available?)"),
    ],
)
def test_residency_verdict(copies, control, batches, status, ending):
    device = "cpu" if batches < 10 else "cuda"
    measured, verdict = gpu.residency_verdict(
        copies, control, batches, device, gpu_events=7
    )
    assert verdict == status
    assert measured.endswith(ending)


def test_residency_verdict_without_a_measurement():
    assert gpu.residency_verdict(None, 16, 8, "cuda", error="E: x") == (
        "not measured (E: x)",
        "FAIL",
    )
    assert gpu.residency_verdict(0, None, 8, "cuda")[1] == "FAIL"


def test_divergence_verdict():
    at = "Training diverged: the training loss became NaN or infinite at epoch 1, "
    hint = ". Try a lower learning rate."
    same = at + "batch 1" + hint
    assert gpu.divergence_verdict(same, same) == (repr(same), "PASS")
    later = at + "batch 3" + hint
    assert gpu.divergence_verdict(later, same)[1] == "PASS"  # noticed later
    assert gpu.divergence_verdict(None, same) == ("no error raised", "FAIL")
    assert gpu.divergence_verdict(same, None)[1] == "FAIL"
    assert gpu.divergence_verdict("Something else: batch 1", same)[1] == "FAIL"


@pytest.mark.parametrize(
    ("trained_on", "loaded", "weights", "gap", "changed", "status"),
    [
        ("cuda", "cpu", "identical", 3e-7, 0, "PASS"),
        ("cpu", "cpu", "identical", 0.0, 0, "FAIL"),  # the fit missed the GPU
        ("cuda", "cuda", "identical", 0.0, 0, "FAIL"),
        ("cuda", "cpu", "DIFFERENT", 0.0, 0, "FAIL"),
        ("cuda", "cpu", "not all on the CPU", 0.0, 0, "FAIL"),
        ("cuda", "cpu", "identical", 2e-3, 0, "FAIL"),
        ("cuda", "cpu", "identical", 3e-7, 1, "FAIL"),
    ],
)
def test_checkpoint_verdict(trained_on, loaded, weights, gap, changed, status):
    measured, verdict = gpu.checkpoint_verdict(
        trained_on, loaded, weights, gap, changed, "cuda"
    )
    assert verdict == status
    assert measured.startswith(f"trained on {trained_on!r}, loaded on {loaded!r}")


def test_no_tf32_turns_tf32_off_and_restores_the_flags():
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = (cudnn.allow_tf32, matmul.allow_tf32)
    with gpu.no_tf32():
        assert (cudnn.allow_tf32, matmul.allow_tf32) == (False, False)
        conv = getattr(cudnn, "conv", None)  # torch >= 2.9: the new flags too
        if conv is not None:
            assert conv.fp32_precision != "tf32"
    assert (cudnn.allow_tf32, matmul.allow_tf32) == before


def test_runtime_row_judges_only_a_gpu_run():
    assert gpu.runtime_row(42.0, "cuda").status == "PASS"
    assert gpu.runtime_row(301.0, "cuda").status == "FAIL"
    assert gpu.runtime_row(301.0, "cpu").status == "info"


def test_a_check_that_raises_is_a_failed_row_and_exit_status_1(
    monkeypatch, capsys, tiny_mlp
):
    def broken(workload, device, *args):
        raise RuntimeError("CUDA error: an illegal memory access")

    def fine(workload, device, *args):
        return gpu.Row("stub", workload.key, "-", "PASS")

    monkeypatch.setattr(gpu, "workloads", lambda sizes: [tiny_mlp])
    monkeypatch.setattr(gpu, "check_device_and_residency", lambda w, d: [fine(w, d)])
    monkeypatch.setattr(gpu, "check_throughput", broken)
    monkeypatch.setattr(gpu, "check_divergence", fine)
    monkeypatch.setattr(gpu, "check_checkpoint", fine)

    assert gpu.main(["--device", "cpu", "--quick"]) == 1

    captured = capsys.readouterr()
    assert "Traceback" in captured.err and "illegal memory access" in captured.err
    rows = table_rows(captured.out)
    assert (
        "throughput",
        "mlp",
        "RuntimeError: CUDA error: an illegal memory access",
        "FAIL",
    ) in rows
    assert [r[3] for r in rows].count("PASS") == 3
    assert "**1 check(s) FAIL.**" in captured.out


def test_without_cuda_it_skips_with_status_0(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "gpu.md"
    assert gpu.main(["--out", str(out)]) == 0
    assert capsys.readouterr().out == gpu.SKIP_MESSAGE + "\n"
    assert not out.exists()  # nothing to commit from a machine without a GPU


def test_a_profiler_that_fails_at_the_end_fails_and_stops(monkeypatch):
    def broken(events, device_type):
        raise ValueError("no events")

    monkeypatch.setattr(gpu, "count_events", broken)
    net = SimpleNamespace(device_="cpu")
    probe = gpu.EpochProfiler(epoch=1).initialize()
    probe.on_epoch_begin(net)
    probe.on_epoch_end(net)
    assert (probe.copies, probe.error) == (None, "ValueError: no events")
    # A fit that raises mid-epoch leaves no profiler running behind it.
    probe = gpu.EpochProfiler(epoch=1).initialize()
    probe.on_epoch_begin(net)
    assert probe._profile is not None
    probe.close()
    assert probe._profile is None
    again = gpu.EpochProfiler(epoch=1).initialize()
    again.on_epoch_begin(net)
    assert again.error is None
    again.on_train_end(net)
    gpu.EpochProfiler().close()  # before skorch initialized it: nothing to do


def test_compare_weights():
    saved = {"w": torch.ones(2, 3), "b": torch.zeros(3)}
    assert gpu.compare_weights(saved, {k: v.clone() for k, v in saved.items()}) == (
        "identical"
    )
    assert gpu.compare_weights(saved, {**saved, "b": torch.full((3,), 1e-8)}) == (
        "DIFFERENT"
    )
    assert gpu.compare_weights(saved, {"w": saved["w"]}) == "DIFFERENT"
    assert gpu.compare_weights(saved, {**saved, "b": saved["b"].double()}) == (
        "DIFFERENT"
    )
    on_meta = {k: v.to("meta") for k, v in saved.items()}
    assert gpu.compare_weights(saved, on_meta) == "not all on the CPU"


def test_a_checkpoint_that_loads_other_weights_fails(
    monkeypatch, quiet_torch, tiny_mlp
):
    from nnestimators import NNClassifier

    load = NNClassifier.from_checkpoint.__func__

    def perturbed(cls, path, **params):
        loaded = load(cls, path, **params)
        with torch.no_grad():
            next(loaded.module_.parameters()).add_(0.5)
        return loaded

    monkeypatch.setattr(NNClassifier, "from_checkpoint", classmethod(perturbed))
    row = gpu.check_checkpoint(tiny_mlp, "cpu")
    assert row.status == "FAIL"
    assert "weights: DIFFERENT" in row.measured


def test_a_fit_that_does_not_diverge_fails_the_divergence_check(
    monkeypatch, quiet_torch, tiny_mlp
):
    class Finite(torch.nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, n_outputs)

        def forward(self, X):
            return self.linear(X)

    monkeypatch.setattr(gpu, "InfiniteOutput", Finite)
    row = gpu.check_divergence(tiny_mlp, "cpu")
    assert (row.measured, row.status) == ("no error raised", "FAIL")


def test_throughput_alternates_the_order_of_repeats(monkeypatch, quiet_torch, tiny_mlp):
    order = []
    hand_loop = gpu.hand_loop
    monkeypatch.setattr(
        gpu, "hand_loop", lambda w, d: order.append("hand") or hand_loop(w, d)
    )
    row = gpu.check_throughput(tiny_mlp, "cpu", repeats=2)
    assert row.status == "info" and "median of 2" in row.measured
    assert order == ["hand", "hand", "hand"]  # warm-up, then one per repeat


def test_the_page_names_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda: "NVIDIA H100 80GB HBM3")
    lines = gpu.device_lines("cuda").splitlines()
    assert lines[0] == "- GPU: NVIDIA H100 80GB HBM3"
    assert lines[1].startswith("- CUDA ")
