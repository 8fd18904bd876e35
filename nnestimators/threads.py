"""``n_threads="auto"``: as many torch threads as the work and the machine allow.

Intra-op threads pay off only when each operation has enough arithmetic to
split: for a small network (a 30-64-32-2 MLP at batch 32, under a million
floating-point operations per step) a second thread costs more in
synchronisation than it saves, and when another process keeps a core busy,
OpenMP threads wait at every operation for the one that lost its core; the
fit can become tens of times slower. So the rule is:

1. Estimate the floating-point operations of one step (training: forward and
   backward, three times the forward pass; prediction: the forward pass) from
   one forward pass of a single dummy sample (:func:`forward_flops`).
2. Give one thread per :data:`FLOPS_PER_THREAD` of that work, at least one.
3. Never more than the budget (``OMP_NUM_THREADS``, a Dask worker's share,
   the usable cores, torch's own setting), and never more than the cores that
   other processes leave free right now (:func:`busy_cores`): more threads
   than free cores is what collapses.

The constant comes from per-step measurements on a 2-core machine
(``docs/benchmarks.md``, "Threads"): a second thread started to pay off
between 12 and 18 million operations per step (0.91x at 12, 1.28x at 18,
1.27x at 50, 1.6-1.75x for a ConvNet on 28x28 images at 800-3,300). With 16
million per thread, the second thread comes at 32 million: below that the
gain is small and a busy core would turn it into a loss.
"""

import os
import time
import weakref

import torch
from torch import nn

# A thread needs about this much work per step (training or prediction
# chunk) before adding it helps (see the module docstring).
FLOPS_PER_THREAD = 16e6

# A training step costs about three forward passes (forward, then the
# gradients with respect to both inputs and weights).
TRAINING_FLOPS_FACTOR = 3

# How long a reading of the machine's load is reused (seconds).
BUSY_CACHE_SECONDS = 1.0
_BUSY_SAMPLES = 3
_BUSY_SAMPLE_GAP = 0.0005

_flops_cache = weakref.WeakKeyDictionary()
_busy_cache = {"at": -float("inf"), "value": None}


def auto_n_threads(module, input_shape, batch_size, *, cap, training=True):
    """Threads for one fit or prediction on the CPU, between 1 and ``cap``.

    Parameters
    ----------
    module : torch.nn.Module or None
        The network (a compiled one is measured through its original module).
        None means the work is unknown: it counts as large.
    input_shape : tuple of int or None
        Shape of one sample, e.g. ``(n_features,)`` or ``(C, H, W)``.
    batch_size : int or None
        Rows per training step, or per prediction chunk.
    cap : int
        The most threads allowed (budget and usable cores).
    training : bool, default=True
        Whether the steps also compute gradients.

    Returns
    -------
    n_threads : int
    """
    cap = max(1, int(cap))
    wanted = cap
    if module is not None and input_shape is not None and batch_size is not None:
        work = step_flops(module, input_shape, batch_size, training=training)
        if work is not None:
            wanted = max(1, int(work // FLOPS_PER_THREAD))
    n_threads = min(cap, wanted)
    if n_threads > 1:
        # Only worth a look at the machine when more than one thread is wanted.
        busy = busy_cores()
        if busy is not None:
            free = (os.cpu_count() or 1) - busy
            n_threads = max(1, min(n_threads, free))
    return n_threads


def step_flops(module, input_shape, batch_size, *, training=True):
    """Floating-point operations of one step of ``batch_size`` rows, or None."""
    per_sample = forward_flops(module, input_shape)
    if per_sample is None:
        return None
    factor = TRAINING_FLOPS_FACTOR if training else 1
    return per_sample * max(1, int(batch_size)) * factor


def forward_flops(module, input_shape):
    """Estimated floating-point operations of a forward pass on one sample.

    A network of ``Linear`` (and normalisation) layers on flat samples counts
    two operations per parameter, without running it. Otherwise one dummy
    sample (zeros) goes through the module in evaluation mode, without
    gradients and with the random generators left untouched; forward hooks
    count multiply-adds of ``Linear`` and convolution layers (two operations
    each, times the output positions); every other parameter counts two
    operations per sample. The result is cached per module and shape.

    Returns
    -------
    flops : float or None
        None when the module cannot run on such a sample (its forward needs
        other inputs, integer indices, ...); the caller then treats the work
        as unknown.
    """
    module = getattr(module, "_orig_mod", module)  # torch.compile's wrapper
    input_shape = tuple(int(size) for size in input_shape)
    try:
        per_module = _flops_cache.setdefault(module, {})
    except TypeError:  # not weak-referenceable
        per_module = {}
    if input_shape not in per_module:
        per_module[input_shape] = _measure_forward_flops(module, input_shape)
    return per_module[input_shape]


def _measure_forward_flops(module, input_shape):
    parameter = next(module.parameters(), None)
    if parameter is None:
        return 0.0
    if _is_plain_mlp(module, input_shape):
        # Each weight is used once per sample: no need to run the module (whose
        # forward may have side effects a user counts on).
        return float(2 * sum(_plain_layer_values(layer) for layer in module.modules()))
    counted = {"flops": 0.0, "params": set()}
    handles = [
        layer.register_forward_hook(_counting_hook(counted))
        for layer in module.modules()
        if isinstance(layer, (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd))
    ]
    modes = {layer: layer.training for layer in module.modules()}
    dummy = torch.zeros(
        (1, *input_shape), dtype=parameter.dtype, device=parameter.device
    )
    devices = [parameter.device] if parameter.device.type == "cuda" else []
    threads = torch.get_num_threads()
    try:
        module.eval()
        # One thread: a busy machine would make a parallel pass crawl.
        torch.set_num_threads(1)
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            module(dummy)
    except Exception:  # any forward that needs more than a float sample
        return None
    finally:
        torch.set_num_threads(threads)
        for handle in handles:
            handle.remove()
        for layer, mode in modes.items():
            layer.training = mode
    # Parameters outside the counted layers (embeddings, normalisation, a
    # functional layer's weights): two operations per value and sample.
    rest = sum(p.numel() for p in module.parameters() if id(p) not in counted["params"])
    return float(counted["flops"] + 2 * rest)


_PLAIN_LAYERS = (
    nn.Linear,
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
)


def _is_plain_mlp(module, input_shape):
    """Flat samples through layers that each use their weights once per sample."""
    if len(input_shape) != 1:
        return False
    return all(
        isinstance(layer, _PLAIN_LAYERS)
        for layer in module.modules()
        if next(layer.parameters(recurse=False), None) is not None
    )


def _plain_layer_values(layer):
    # As the hooks count: a Linear layer's weights (its bias rides along),
    # every other parameter once.
    if isinstance(layer, nn.Linear):
        return layer.weight.numel()
    return sum(p.numel() for p in layer.parameters(recurse=False))


def _counting_hook(counted):
    def hook(layer, inputs, output):
        weight = layer.weight
        if isinstance(output, tuple):
            output = output[0]
        if isinstance(layer, nn.modules.conv._ConvTransposeNd):
            # Each input position is multiplied by the whole kernel.
            positions = inputs[0].numel() // max(1, layer.in_channels)
        elif isinstance(layer, nn.modules.conv._ConvNd):
            positions = output.numel() // max(1, layer.out_channels)
        else:  # Linear, Bilinear: one row per sample (or per extra position)
            positions = output.numel() // max(1, layer.out_features)
        if isinstance(layer, nn.Bilinear):
            positions *= layer.in1_features
            weight_values = weight.numel() // layer.in1_features
        else:
            weight_values = weight.numel()
        counted["flops"] += 2.0 * weight_values * positions
        counted["params"].update(id(p) for p in layer.parameters(recurse=False))

    return hook


def busy_cores():
    """How many cores other processes keep busy right now, or None if unknown.

    Linux: the scheduler's count of runnable threads (4th field of
    ``/proc/loadavg``), less this process's own runnable threads; the
    smallest of a few readings ~0.5 ms apart, so that a short-lived process
    is not taken for a busy core. Elsewhere: the 1-minute load average less
    one (this process), which lags behind changes. Readings are reused for
    :data:`BUSY_CACHE_SECONDS`.
    """
    now = time.monotonic()
    if now - _busy_cache["at"] < BUSY_CACHE_SECONDS:
        return _busy_cache["value"]
    value = _busy_cores_now()
    _busy_cache.update(at=time.monotonic(), value=value)
    return value


def _busy_cores_now():
    readings = []
    for sample in range(_BUSY_SAMPLES):
        if sample:
            time.sleep(_BUSY_SAMPLE_GAP)
        running = _running_threads()
        if running is None:
            break
        readings.append(max(0, running - _own_running_threads()))
    if readings:
        return min(readings)
    try:
        return max(0, round(os.getloadavg()[0]) - 1)
    except (OSError, AttributeError):  # no load average (Windows)
        return None


def _running_threads():
    """Runnable threads on the machine now (Linux), this one included."""
    try:
        with open("/proc/loadavg") as file:
            fields = file.read().split()
        return int(fields[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def _own_running_threads():
    """This process's runnable threads (at least 1: the one asking)."""
    running = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat") as file:
                stat = file.read()
        except OSError:  # the thread ended meanwhile
            continue
        # The state follows the command name, which is in parentheses.
        state = stat[stat.rfind(")") + 2 : stat.rfind(")") + 3]
        running += state == "R"
    return max(1, running)
