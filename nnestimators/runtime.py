"""Where and how a fit runs: device choice, torch threads and random seeds."""

import contextlib
import gc
import os
import sys

import joblib
import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError

from .threads import auto_n_threads


def resolve_device(device):
    """Return the torch device string a fit should use.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` (or None) picks CUDA, then Apple MPS, then the CPU; any
        other value is handed to ``torch.device`` so that typos fail early.

    Returns
    -------
    device : str
        ``"cuda"`` means the current CUDA device, the first one the process
        sees: a worker started with ``CUDA_VISIBLE_DEVICES=2`` (as
        ``dask-cuda`` does, one GPU per worker) sees that GPU as ``cuda:0``,
        so each worker trains on its own GPU.

    Raises
    ------
    ValueError
        If ``device`` is not a torch device, or names CUDA or MPS on a
        machine without it.
    """
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        # Otherwise torch fails later, mid-fit, with a less helpful message.
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' to pick the best available device."
        )
    mps = getattr(torch.backends, "mps", None)
    if resolved.type == "mps" and not (mps is not None and mps.is_available()):
        raise ValueError(
            f"device={device!r} was requested but Apple's MPS is not available "
            "on this machine; use device='auto' to pick the best available device."
        )
    return str(resolved)


def resolve_n_threads(
    n_threads,
    *,
    module=None,
    input_shape=None,
    batch_size=None,
    device="cpu",
    training=True,
):
    """Return the number of torch threads for this fit, or None to keep torch's.

    Parameters
    ----------
    n_threads : int, "auto" or None
        The estimator's ``n_threads`` parameter.
    module : torch.nn.Module, default=None
        The network about to run (``"auto"`` only).
    input_shape : tuple of int, default=None
        Shape of one sample (``"auto"`` only).
    batch_size : int, default=None
        Rows per training step, or per prediction chunk (``"auto"`` only).
    device : str or torch.device, default="cpu"
        Where the network runs (``"auto"`` only).
    training : bool, default=True
        Whether the steps compute gradients (``"auto"`` only).

    Returns
    -------
    n_threads : int or None
        An explicit integer wins (at least 1). Otherwise the budget, in order
        of precedence: the worker's ``OMP_NUM_THREADS``, which joblib's loky
        workers (usable cores // ``n_jobs``) and Dask's nannies (1 by
        default) export; inside a Dask worker without it, the usable cores
        shared between the worker's task threads; else None (torch's
        setting). None returns that budget.

        ``"auto"`` on the CPU returns a count between 1 and the budget (or
        the usable cores and torch's setting, when there is no budget): one
        thread per ``nnestimators.threads.FLOPS_PER_THREAD`` operations of a
        step (16 million: small networks get one thread), and no more than
        the cores other processes leave free (see
        :func:`nnestimators.threads.auto_n_threads`). On an accelerator the
        CPU does little work: ``"auto"`` returns the budget, as None does.
    """
    if isinstance(n_threads, bool):  # an int to Python, a mistake here
        raise InvalidParameterError(
            "The 'n_threads' parameter must be an int in the range [1, inf), a "
            f"str among {{'auto'}} or None. Got {n_threads!r} instead."
        )
    if n_threads is not None and not isinstance(n_threads, str):
        return max(1, int(n_threads))
    if n_threads is not None and n_threads != "auto":
        raise ValueError(
            f"n_threads={n_threads!r} is not valid: use a positive integer, "
            "'auto' or None."
        )
    budget = _thread_budget()
    if n_threads is None or torch.device(device).type != "cpu":
        return budget
    # A budget replaces torch's setting, as it does for None; neither may
    # exceed the usable cores.
    cap = min(_usable_cpu_count(), budget or torch.get_num_threads())
    return auto_n_threads(module, input_shape, batch_size, cap=cap, training=training)


def _thread_budget():
    from_env = _threads_from_env()
    if from_env is not None:
        return from_env
    worker_threads = _dask_worker_threads()
    if worker_threads:
        return max(1, _usable_cpu_count() // worker_threads)
    return None


def _threads_from_env():
    # OpenMP also accepts a list such as "4,2" (outer, nested levels): the
    # first entry is the budget of this level; anything unparsable is ignored.
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if first.isdigit() and int(first) > 0:
        return int(first)
    return None


def _usable_cpu_count():
    # joblib's count honours CPU affinity and cgroup quotas (containers), and
    # is the count loky divides between its workers.
    return joblib.cpu_count()


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
    """Run the block with ``n_threads`` torch threads, then restore the setting.

    Parameters
    ----------
    n_threads : int or None
        Intra-op threads inside the block; None leaves torch's setting alone.
    """
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
    """Turn a scikit-learn ``random_state`` into one integer seed for torch.

    None draws from torch's global generator, as a skorch net's training
    does, so ``torch.manual_seed`` before ``fit`` makes the fit repeatable.
    """
    if random_state is None:
        return int(torch.randint(np.iinfo(np.int32).max, (1,)).item())
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
        if on_cpu:
            # torch.manual_seed also queues a CUDA seeding, capturing a stack
            # trace each time: milliseconds per fit that a CPU fit never uses.
            torch.default_generator.manual_seed(seed)
        else:
            torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector inside the block.

    A training step frees its tensors by reference counting; the collector
    would only rescan the process's objects over and over (several percent
    of a small network's step in a large process). Cycles, if any, are
    collected once the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def resolved_device(net):
    """Inside the block, ``net.device`` reads the device ``"auto"`` resolved to.

    skorch (and a skorch user's override: ``to_tensor(x, device=self.device)``)
    reads the device parameter as a torch device, which ``"auto"`` is not.
    ``get_params``, ``clone`` and pickling still see the parameter as given
    (``_requested_device`` holds it meanwhile).
    """
    state = net.__dict__
    if "_requested_device" in state:
        yield  # already resolved by an enclosing call
        return
    requested = net.device
    state["_requested_device"] = requested
    state["device"] = state.get("device_") or resolve_device(requested)
    try:
        yield
    finally:
        state["device"] = requested
        del state["_requested_device"]
