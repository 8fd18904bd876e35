"""Tests of nnestimators.runtime: device choice, torch threads and seeds."""

import os
import sys
import types

import joblib
import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from nnestimators import NNClassifier, runtime
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
