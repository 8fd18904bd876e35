"""Tests of nnestimators.runtime: device choice, torch threads and seeds."""

import os
import sys
import types

import joblib
import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback
from torch import nn

from nnestimators import NNClassifier, runtime, threads
from nnestimators.modules import MLP, ConvNet
from nnestimators.runtime import (
    draw_seed,
    resolve_device,
    resolve_n_threads,
    seeded,
    torch_threads,
)

# -- helpers shared with test_dask.py (module level so workers can unpickle) --


class ThreadRecorder(Callback):
    """Record ``torch.get_num_threads()`` at each epoch, i.e. during fit."""

    def initialize(self):
        self.seen = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


def tiny_data(n_samples=48, n_features=4, seed=0):
    """A small, easy two-class problem."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def threads_during_fit(n_threads=None):
    """Fit a tiny classifier in this process and report the threads it used.

    Torch's setting is first moved away from the worker's budget, so that a
    match during fit shows the estimator applied the budget itself rather
    than inheriting it.

    Returns
    -------
    observed : dict
        ``omp_env`` (this process's ``OMP_NUM_THREADS``), ``during`` (set of
        thread counts seen at each epoch), ``perturbed`` (the setting before
        fit), ``after`` (the setting after fit), ``device`` (``device_``) and
        ``dask_imported`` (whether dask is loaded in this process).
    """
    budget = int(os.environ.get("OMP_NUM_THREADS", "1").split(",")[0])
    perturbed = max(budget, n_threads or 0) + 1
    previous = torch.get_num_threads()
    torch.set_num_threads(perturbed)
    try:
        recorder = ThreadRecorder()
        X, y = tiny_data()
        model = NNClassifier(
            max_epochs=2,
            batch_size=16,
            module__hidden_units=(8,),
            n_threads=n_threads,
            callbacks=[recorder],
            random_state=0,
        ).fit(X, y)
        model.predict(X)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
    return {
        "omp_env": os.environ.get("OMP_NUM_THREADS"),
        "during": set(recorder.seen),
        "perturbed": perturbed,
        "after": after,
        "device": model.device_,
        "dask_imported": any(name in sys.modules for name in ("dask", "distributed")),
    }


# -- resolve_device -----------------------------------------------------------


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("device", ["auto", None])
def test_auto_device_is_cpu_without_accelerator(no_accelerator, device):
    assert resolve_device(device) == "cpu"


def test_auto_device_on_this_machine_matches_torch():
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None and torch.backends.mps.is_available():
        expected = "mps"
    assert resolve_device("auto") == (expected or "cpu")


def test_auto_device_prefers_cuda(monkeypatch):
    # A GPU worker started with CUDA_VISIBLE_DEVICES sees only its GPU, as
    # cuda:0; "cuda" (the current device) is that GPU.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert torch.device(resolve_device("auto")).index is None


def test_bare_cuda_compares_equal_to_the_tensors_device(monkeypatch):
    # Tensors on the GPU report cuda:0; the "already there" checks of the
    # per-batch path must see them as on "cuda", or they move every batch.
    from nnestimators.data import indexed_device
    from nnestimators.session import FitSession

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert indexed_device("cuda") == torch.device("cuda", 0)
    assert indexed_device("cpu") == torch.device("cpu")
    session = FitSession("fit", "cuda", 0, 32, 32, 1, 1, 1)
    assert session.torch_device == torch.device("cuda", 0)


def test_auto_device_falls_back_to_mps(no_accelerator, monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == "mps"


@pytest.mark.parametrize(
    "device, expected",
    [("cpu", "cpu"), (torch.device("cpu"), "cpu"), ("cuda:1", "cuda:1")],
)
def test_explicit_device_is_kept(monkeypatch, device, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(device) == expected


@pytest.mark.parametrize("device", ["gpu", "cuda:x", 3.5])
def test_invalid_device_raises(device):
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device(device)


# -- resolve_n_threads --------------------------------------------------------


def _fake_dask_worker(nthreads):
    """A stand-in for ``distributed`` whose get_worker has ``nthreads``."""
    worker = types.SimpleNamespace(state=types.SimpleNamespace(nthreads=nthreads))
    return types.SimpleNamespace(get_worker=lambda: worker)


def _not_in_a_worker():
    raise ValueError("No worker found")


@pytest.fixture
def clean_env(monkeypatch):
    """No OMP_NUM_THREADS and no distributed imported."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    return monkeypatch


def test_explicit_n_threads_wins(clean_env):
    clean_env.setenv("OMP_NUM_THREADS", "2")
    clean_env.setitem(sys.modules, "distributed", _fake_dask_worker(1))
    assert resolve_n_threads(3) == 3


@pytest.mark.parametrize("n_threads", [0, -2])
def test_explicit_n_threads_is_at_least_one(clean_env, n_threads):
    assert resolve_n_threads(n_threads) == 1


@pytest.mark.parametrize("flag", [True, False])
def test_boolean_n_threads_is_refused_in_scikit_learns_words(flag):
    # Python's True is the integer 1; as n_threads it is a mistake.
    X, y = np.zeros((8, 2), dtype=np.float32), np.arange(8) % 2
    expected = (
        f"The 'n_threads' parameter of NNClassifier must be an int in the range "
        f"[1, inf), a str among {{'auto'}} or None. Got {flag} instead."
    )
    with pytest.raises(InvalidParameterError) as caught:
        NNClassifier(max_epochs=1, n_threads=flag).fit(X, y)
    assert str(caught.value) == expected
    # Set after fit, it is refused by predict too, naming the parameter.
    net = NNClassifier(max_epochs=1, n_threads=1).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'n_threads' parameter"):
        net.set_params(n_threads=flag).predict(X)
    assert resolve_n_threads(np.int64(2)) == 2  # numpy integers stay valid


@pytest.mark.parametrize("value, expected", [("2", 2), ("4,2", 4), (" 3 ", 3)])
def test_omp_num_threads_is_the_budget(clean_env, value, expected):
    clean_env.setenv("OMP_NUM_THREADS", value)
    assert resolve_n_threads(None) == expected


@pytest.mark.parametrize("value", ["", "0", "-1", "many"])
def test_unusable_omp_num_threads_is_ignored(clean_env, value):
    clean_env.setenv("OMP_NUM_THREADS", value)
    assert resolve_n_threads(None) is None


def test_omp_num_threads_wins_over_dask_worker(clean_env):
    clean_env.setenv("OMP_NUM_THREADS", "2")
    clean_env.setitem(sys.modules, "distributed", _fake_dask_worker(1))
    assert resolve_n_threads(None) == 2


@pytest.mark.parametrize("cores, nthreads, expected", [(8, 2, 4), (8, 1, 8), (2, 4, 1)])
def test_dask_worker_shares_cores_between_its_threads(
    clean_env, cores, nthreads, expected
):
    clean_env.setattr(runtime, "_usable_cpu_count", lambda: cores)
    clean_env.setitem(sys.modules, "distributed", _fake_dask_worker(nthreads))
    assert resolve_n_threads(None) == expected


def test_outside_any_worker_torch_keeps_its_default(clean_env):
    assert resolve_n_threads(None) is None
    clean_env.setitem(
        sys.modules, "distributed", types.SimpleNamespace(get_worker=_not_in_a_worker)
    )
    assert resolve_n_threads(None) is None


def test_usable_cpu_count_matches_joblib():
    assert runtime._usable_cpu_count() == joblib.cpu_count() >= 1


# -- torch_threads ------------------------------------------------------------


def test_torch_threads_sets_then_restores():
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before


def test_torch_threads_restores_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), torch_threads(before + 1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_torch_threads_none_leaves_the_setting():
    before = torch.get_num_threads()
    with torch_threads(None):
        assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before


def test_fit_and_predict_restore_the_thread_setting():
    before = torch.get_num_threads()
    X, y = tiny_data()
    NNClassifier(max_epochs=1, n_threads=before + 1).fit(X, y).predict(X)
    assert torch.get_num_threads() == before


# -- seeds --------------------------------------------------------------------


def test_draw_seed_is_reproducible():
    assert draw_seed(0) == draw_seed(0)
    assert draw_seed(0) != draw_seed(1)
    assert 0 <= draw_seed(np.random.RandomState(3)) < np.iinfo(np.int32).max


def test_seeded_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with seeded(7, "cpu"):
        first = torch.rand(3)
    with seeded(7, "cpu"):
        second = torch.rand(3)
    assert torch.equal(first, second)
    assert torch.equal(torch.get_rng_state(), state)
    # The caller's stream continues as if nothing had been drawn.
    assert torch.equal(torch.rand(3), expected_next)


# -- joblib's loky workers ----------------------------------------------------


@pytest.mark.timeout(180)
@pytest.mark.slow
def test_loky_workers_fit_with_their_share_of_cores(monkeypatch):
    # joblib gives each loky worker OMP_NUM_THREADS = cores // n_jobs, unless
    # the parent already has the variable (as a test shell may).
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    observed = joblib.Parallel(n_jobs=2, backend="loky", timeout=150)(
        joblib.delayed(threads_during_fit)() for _ in range(2)
    )
    budget = max(1, joblib.cpu_count() // 2)
    for worker in observed:
        assert worker["omp_env"] == str(budget)
        assert worker["during"] == {budget}
        assert worker["after"] == worker["perturbed"]
        # A fresh process that fitted and predicted: the core never imports dask.
        assert not worker["dask_imported"]


@pytest.mark.timeout(180)
@pytest.mark.slow
def test_explicit_n_threads_wins_in_loky_workers(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    observed = joblib.Parallel(n_jobs=2, backend="loky", timeout=150)(
        joblib.delayed(threads_during_fit)(n_threads=2) for _ in range(2)
    )
    assert [worker["during"] for worker in observed] == [{2}, {2}]


def test_cuda_requested_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_mps_requested_without_mps_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="MPS is not available"):
        resolve_device("mps")


def test_gc_paused_restores_the_collector():
    import gc

    from nnestimators.runtime import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


# -- n_threads="auto" ---------------------------------------------------------


@pytest.fixture
def machine(clean_env):
    """A 16-core machine with ``busy`` cores taken by others (default 0)."""
    state = {"busy": 0}
    clean_env.setattr(runtime, "_usable_cpu_count", lambda: 16)
    clean_env.setattr(threads.os, "cpu_count", lambda: 16)
    clean_env.setattr(threads, "busy_cores", lambda: state["busy"])
    before = torch.get_num_threads()
    torch.set_num_threads(16)
    yield state
    torch.set_num_threads(before)


def _auto(module, input_shape, batch_size, **kwargs):
    return resolve_n_threads(
        "auto",
        module=module,
        input_shape=input_shape,
        batch_size=batch_size,
        **kwargs,
    )


def test_forward_flops_of_dense_layers():
    module = MLP(30, 2, hidden_units=(64, 32))
    expected = 2 * (30 * 64 + 64 * 32 + 32 * 2)
    assert threads.forward_flops(module, (30,)) == expected


def test_forward_flops_of_a_convolution_counts_output_positions():
    module = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten())
    # 4 x 1 x 3 x 3 weights at each of the 8 x 8 output positions.
    assert threads.forward_flops(module, (1, 8, 8)) == 2 * 36 * 64


def test_forward_flops_counts_other_parameters_once_per_sample():
    module = nn.Sequential(nn.Linear(10, 5), nn.LayerNorm(5))
    assert threads.forward_flops(module, (10,)) == 2 * 50 + 2 * 10


def test_forward_flops_grows_with_image_size():
    small = threads.forward_flops(ConvNet((1, 8, 8), 10), (1, 8, 8))
    large = threads.forward_flops(ConvNet((1, 28, 28), 10), (1, 28, 28))
    assert large > 5 * small > 0


def test_forward_flops_leaves_the_module_and_the_generators_alone():
    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(4, 3)
            self.norm = nn.BatchNorm1d(3)

        def forward(self, X):
            return self.norm(self.dense(X + torch.rand_like(X)))

    module = Noisy()
    module.norm.eval()  # a user's choice, kept
    state = torch.get_rng_state()
    before = torch.get_num_threads()
    running_mean = module.norm.running_mean.clone()
    assert threads.forward_flops(module, (4,)) > 0
    assert torch.equal(torch.get_rng_state(), state)
    assert module.training and module.dense.training and not module.norm.training
    assert torch.equal(module.norm.running_mean, running_mean)
    assert not module.dense._forward_hooks
    assert torch.get_num_threads() == before


def test_forward_flops_is_none_when_the_module_needs_other_input():
    module = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 1))
    assert threads.forward_flops(module, (3,)) is None


def test_forward_flops_measures_a_compiled_module_through_its_original():
    module = MLP(5, 1, hidden_units=(4,))
    wrapper = types.SimpleNamespace(_orig_mod=module)
    assert threads.forward_flops(wrapper, (5,)) == 2 * (5 * 4 + 4)


def test_step_flops_of_training_is_three_forward_passes():
    module = MLP(30, 2, hidden_units=(64, 32))
    forward = threads.forward_flops(module, (30,))
    assert threads.step_flops(module, (30,), 32) == 3 * 32 * forward
    assert threads.step_flops(module, (30,), 32, training=False) == 32 * forward


def test_auto_gives_a_small_network_one_thread(machine):
    # The case: 30-64-32-2 at batch 32 is under a million operations.
    assert _auto(MLP(30, 2, hidden_units=(64, 32)), (30,), 32) == 1


def test_auto_gives_large_work_every_core(machine):
    assert _auto(ConvNet((1, 28, 28), 10), (1, 28, 28), 128) == 16


def test_auto_grows_with_the_batch(machine):
    module = MLP(100, 2, hidden_units=(256, 256))
    counts = [_auto(module, (100,), batch) for batch in (8, 64, 512, 4096)]
    assert counts == sorted(counts)
    assert counts[0] == 1 and counts[-1] == 16


def test_auto_one_thread_per_flops_per_thread(machine):
    module = MLP(100, 2, hidden_units=(256, 256))
    work = threads.step_flops(module, (100,), 64)
    assert _auto(module, (100,), 64) == min(16, int(work // threads.FLOPS_PER_THREAD))


def test_auto_never_uses_more_threads_than_free_cores(machine):
    module, shape = ConvNet((1, 28, 28), 10), (1, 28, 28)
    machine["busy"] = 12
    assert _auto(module, shape, 128) == 4
    machine["busy"] = 16  # one busy process per core: the collapse case
    assert _auto(module, shape, 128) == 1
    machine["busy"] = 40
    assert _auto(module, shape, 128) == 1


def test_auto_does_not_look_at_the_machine_for_one_thread(machine, monkeypatch):
    def fail():
        raise AssertionError("busy_cores read for a one-thread decision")

    monkeypatch.setattr(threads, "busy_cores", fail)
    assert _auto(MLP(30, 2), (30,), 32) == 1


def test_auto_respects_omp_num_threads(machine, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _auto(ConvNet((1, 28, 28), 10), (1, 28, 28), 128) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "64")  # never more than usable cores
    assert _auto(ConvNet((1, 28, 28), 10), (1, 28, 28), 128) == 16


def test_auto_respects_a_dask_workers_share(machine, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", _fake_dask_worker(4))
    assert _auto(ConvNet((1, 28, 28), 10), (1, 28, 28), 128) == 4


def test_auto_respects_torchs_setting_and_the_usable_cores(machine, monkeypatch):
    torch.set_num_threads(2)
    assert _auto(ConvNet((1, 28, 28), 10), (1, 28, 28), 128) == 2
    torch.set_num_threads(16)
    monkeypatch.setattr(runtime, "_usable_cpu_count", lambda: 6)
    assert _auto(ConvNet((1, 28, 28), 10), (1, 28, 28), 128) == 6


def test_auto_with_unknown_work_takes_the_free_cores(machine):
    assert resolve_n_threads("auto") == 16
    machine["busy"] = 10
    assert resolve_n_threads("auto") == 6
    embedding = nn.Sequential(nn.Embedding(10, 4), nn.Flatten())
    assert _auto(embedding, (3,), 32) == 6


def test_auto_on_an_accelerator_returns_the_budget(machine, monkeypatch):
    module = ConvNet((1, 28, 28), 10)
    assert _auto(module, (1, 28, 28), 128, device="cuda") is None
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert _auto(module, (1, 28, 28), 128, device="mps") == 2


def test_explicit_and_none_ignore_the_work(machine):
    module = ConvNet((1, 28, 28), 10)
    assert resolve_n_threads(3, module=module, input_shape=(1, 28, 28)) == 3
    assert resolve_n_threads(None, module=module, batch_size=128) is None


@pytest.mark.parametrize("n_threads", ["many", "AUTO", ""])
def test_unknown_n_threads_string_raises(n_threads):
    with pytest.raises(ValueError, match="n_threads="):
        resolve_n_threads(n_threads)


# -- busy_cores ---------------------------------------------------------------


@pytest.fixture
def fresh_busy_reading(monkeypatch):
    monkeypatch.setattr(threads, "_busy_cache", {"at": -float("inf"), "value": None})
    monkeypatch.setattr(threads, "_BUSY_SAMPLE_GAP", 0)


def test_busy_cores_is_others_runnable_threads(fresh_busy_reading, monkeypatch):
    readings = iter([5, 3, 4])
    monkeypatch.setattr(threads, "_running_threads", lambda: next(readings))
    monkeypatch.setattr(threads, "_own_running_threads", lambda: 1)
    # The smallest reading: a process that ran only briefly is not a busy core.
    assert threads.busy_cores() == 2


def test_busy_cores_subtracts_this_process(fresh_busy_reading, monkeypatch):
    monkeypatch.setattr(threads, "_running_threads", lambda: 3)
    monkeypatch.setattr(threads, "_own_running_threads", lambda: 3)
    assert threads.busy_cores() == 0


def test_busy_cores_reuses_a_recent_reading(fresh_busy_reading, monkeypatch):
    monkeypatch.setattr(threads, "_running_threads", lambda: 4)
    monkeypatch.setattr(threads, "_own_running_threads", lambda: 1)
    assert threads.busy_cores() == 3
    monkeypatch.setattr(threads, "_running_threads", lambda: 9)
    assert threads.busy_cores() == 3
    threads._busy_cache["at"] -= threads.BUSY_CACHE_SECONDS
    assert threads.busy_cores() == 8


def test_busy_cores_falls_back_to_the_load_average(fresh_busy_reading, monkeypatch):
    monkeypatch.setattr(threads, "_running_threads", lambda: None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (3.4, 1.0, 0.5))
    assert threads.busy_cores() == 2


def test_busy_cores_unknown_without_a_load_average(fresh_busy_reading, monkeypatch):
    def no_load():
        raise OSError("no load average")

    monkeypatch.setattr(threads, "_running_threads", lambda: None)
    monkeypatch.setattr(threads.os, "getloadavg", no_load)
    assert threads.busy_cores() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_proc_readings_on_linux():
    assert threads._running_threads() >= 1
    assert threads._own_running_threads() >= 1
    assert threads.busy_cores() >= 0


def test_forward_flops_of_a_plain_mlp_does_not_run_it():
    # A forward with side effects (a user's module counting its calls) must
    # not see an extra call from the thread rule.
    calls = []

    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(6, 4)
            self.out = nn.Linear(4, 2)

        def forward(self, X):
            calls.append(len(X))
            return self.out(torch.relu(self.dense(X)))

    assert threads.forward_flops(Counting(), (6,)) == 2 * (6 * 4 + 4 * 2)
    assert calls == []
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten())
    assert threads.forward_flops(conv, (1, 5, 5)) == 2 * 18 * 9  # measured
