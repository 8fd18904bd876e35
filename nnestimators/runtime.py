"""Where and how a fit runs: device choice, torch threads and random seeds."""

import contextlib
import os
import sys

import numpy as np
import torch
from sklearn.utils import check_random_state


def resolve_device(device):
    """Return the torch device string a fit should use.

    ``"auto"`` (or None) picks CUDA, then Apple MPS, then the CPU; any other
    value is handed to ``torch.device`` so that typos fail early.
    """
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    try:
        return str(torch.device(device))
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc


def resolve_n_threads(n_threads):
    """Return the number of torch threads for this fit, or None to keep torch's.

    An explicit ``n_threads`` wins. Otherwise the worker's budget is honoured:
    joblib's loky workers and Dask's nannies export ``OMP_NUM_THREADS`` (cores
    divided by concurrent workers); inside a Dask worker without it, the
    cores are shared between the worker's task threads.
    """
    if n_threads is not None:
        return max(1, int(n_threads))
    from_env = os.environ.get("OMP_NUM_THREADS", "")
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)
    worker_threads = _dask_worker_threads()
    if worker_threads:
        return max(1, (os.cpu_count() or 1) // worker_threads)
    return None


def _dask_worker_threads():
    # Only look when distributed is already imported: the core never imports dask.
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        return distributed.get_worker().state.nthreads
    except (ValueError, AttributeError):
        return None


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run the block with ``n_threads`` torch threads, then restore the setting."""
    if n_threads is None or n_threads == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def draw_seed(random_state):
    """Turn a scikit-learn ``random_state`` into one integer seed for torch."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def seeded(seed, device):
    """Seed torch's global generators inside the block and leave them as they were.

    Weight initialisation, dropout and augmentation draw from the global
    generators; forking keeps a fit reproducible without touching the
    caller's random state.
    """
    kind = torch.device(device).type
    on_cpu = kind == "cpu"
    with torch.random.fork_rng(
        devices=[] if on_cpu else None, device_type="cuda" if on_cpu else kind
    ):
        torch.manual_seed(seed)
        yield
