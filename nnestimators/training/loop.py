"""skorch's training loop, fed by the fast in-memory path.

Training runs through skorch's own extension points (``fit_loop``,
``run_single_epoch``, ``train_step``, ``validation_step``, ``get_loss``,
``get_iterator``, ``notify``); the estimators' overrides of them call the
functions here, which change only what the steps are given: in-memory data
is handed out as tensor slices (``make_iterator``), each batch's encoded
targets and weights go to the fit's session for the loss and the metrics,
and the batches shown to callbacks carry the user's labels and units.
"""

import numpy as np
import torch
from skorch.callbacks import EpochTimer, PassthroughScoring
from skorch.dataset import get_len
from skorch.net import NeuralNet
from torch.utils.data import DataLoader

from ..data import (
    ArrayDataset,
    AugmentedBatches,
    EpochPermutation,
    TensorBatches,
    net_layers,
)
from ..optimizers import SKORCH_BATCH_SIZE
from ..runtime import gc_paused
from ..session import BatchState, current_session
from .callbacks import DivergenceCheck, EarlyStop, EpochMetrics, KerasProgress
from .hooks import HookIndex, UserInterrupt, acts_on

# "auto" training length: enough optimiser steps for small tables, at least
# MIN_EPOCHS passes over large ones.
TARGET_STEPS = 2000
MIN_EPOCHS, MAX_EPOCHS = 10, 200
# Rows per validation forward call when batch_size is "auto".
AUTO_VALID_BATCH_SIZE = 4096
# DataLoader settings the tensor-slicing path reproduces exactly.
_FAST_LOADER_KEYS = {"batch_size", "shuffle", "drop_last"}
_SEQUENCES = (tuple, list)
_BATCH_NORMS = (
    torch.nn.BatchNorm1d,
    torch.nn.BatchNorm2d,
    torch.nn.BatchNorm3d,
    torch.nn.SyncBatchNorm,
)
# Callbacks of ours that never look at a batch's targets.
_BLIND_TO_TARGETS = (
    EpochTimer,
    PassthroughScoring,
    EpochMetrics,
    DivergenceCheck,
    KerasProgress,
)


def resolved_batch_size(batch_size, n_rows, training, sgd_rate=False):
    """The ``batch_size`` parameter as a number: ``"auto"`` is ``n // 100``
    clipped to [32, 256] for training (skorch's 128 at an SGD-sized rate,
    ``sgd_rate``), 4,096 rows for validation."""
    if batch_size == "auto":
        if not training:
            return AUTO_VALID_BATCH_SIZE
        if sgd_rate:
            return SKORCH_BATCH_SIZE
        return int(np.clip(n_rows // 100, 32, 256))
    return batch_size


def planned_epochs(max_epochs, n_train, batch_size):
    """The ``max_epochs`` parameter as a number: ``"auto"`` gives about 2,000
    optimiser steps, at least 10 and at most 200 epochs."""
    if max_epochs == "auto":
        steps_per_epoch = max(1, -(-n_train // batch_size))
        return int(np.clip(-(-TARGET_STEPS // steps_per_epoch), MIN_EPOCHS, MAX_EPOCHS))
    return int(max_epochs)


def make_iterator(net, dataset, training):
    """``get_iterator``: tensor slices for in-memory data, else skorch's loader."""
    name = "iterator_train" if training else "iterator_valid"
    kwargs = net.get_params_for(name)
    iterator = net.iterator_train if training else net.iterator_valid
    fast = (
        isinstance(dataset, ArrayDataset)
        and iterator is DataLoader
        and set(kwargs) <= _FAST_LOADER_KEYS
    )
    batch_size = kwargs.pop("batch_size", None)
    if batch_size is None:
        batch_size = resolved_batch_size(net.batch_size, len(dataset), training)
    if batch_size == -1:
        batch_size = len(dataset)
    session = current_session(net)
    generator = None if session is None else session.generator
    if fast:
        return TensorBatches(
            dataset,
            batch_size,
            shuffle=kwargs.get("shuffle", training),
            drop_last=kwargs.get("drop_last", False),
            generator=generator,
            on_batch=None if session is None else session_batch_writer(session),
            augment=net.augment if training else None,
            # Batch norm cannot train on a batch of one row.
            merge_single_row=training and has_batch_norm(net),
        )
    if isinstance(dataset, ArrayDataset) and dataset.weights is not None:
        raise ValueError(
            "sample_weight and class_weight need the built-in batching; "
            f"they cannot be combined with a custom {name} or {name}__"
            f"{sorted(set(kwargs) - _FAST_LOADER_KEYS)}."
        )
    if training:
        kwargs.setdefault("shuffle", True)
    if (
        iterator is DataLoader
        and kwargs.get("shuffle")
        and generator is not None
        and not ({"generator", "sampler", "batch_sampler"} & set(kwargs))
    ):
        # random_state governs the order here too: the fast path's draws.
        kwargs.pop("shuffle")
        kwargs["sampler"] = EpochPermutation(len(dataset), generator)
        # The loader's base seed must not draw from the global generator,
        # which dropout shares with the fast path.
        kwargs["generator"] = torch.Generator()
    loader = iterator(dataset, batch_size=batch_size, **kwargs)
    if training and net.augment is not None:
        return AugmentedBatches(loader, net.augment)
    return loader


def session_batch_writer(session):
    """What ``TensorBatches`` calls before each batch: its state, for the loss."""

    def write(dataset, positions, targets, weights):
        if dataset is None:
            session.batch = None
            return
        metric_weights = None
        if dataset.metric_weights is not None:
            metric_weights = dataset.row_metric_weights(_cpu_index(positions))
        session.batch = BatchState(targets, weights, metric_weights, encoded=True)

    return write


def run_epoch(net, iterator, training, prefix, step_fn, fit_params):
    """skorch's ``run_single_epoch``, with the user's labels in the batches
    callbacks see and each batch's weight recorded for the epoch's mean."""
    if iterator is None:
        return
    session = current_session(net)
    batch_count = 0
    shows_labels = shows_user_targets(net)
    keeps_state = isinstance(iterator, TensorBatches)  # it sets each batch's
    loss_key, size_key = prefix + "_loss", prefix + "_batch_size"
    weight_key = prefix + "_batch_weight"
    # Every submodule in the mode of the epoch (the steps only switch on
    # change): one the user left in eval mode trains as skorch trains it.
    NeuralNet._set_training(net, training)
    with gc_paused():
        for batch in iterator:
            if session is not None and session.batch is None:
                if isinstance(batch, _SEQUENCES):
                    session.batch = BatchState(batch[1] if len(batch) > 1 else None)
            shown = user_batch(net, batch) if shows_labels else batch
            net.notify("on_batch_begin", batch=shown, training=training)
            step = step_fn(batch, **fit_params)
            history = net.history
            history.record_batch(loss_key, step["loss"].item())
            history.record_batch(size_key, _batch_len(batch))
            state = session and session.batch
            if state is not None and state.weights is not None:
                # What the epoch's weighted mean needs.
                history.record_batch(weight_key, float(state.weights.sum()))
            net.notify("on_batch_end", batch=shown, training=training, **step)
            if session is not None and not keeps_state:
                session.batch = None
            batch_count += 1
    net.history.record(prefix + "_batch_count", batch_count)


def notify(net, method_name, cb_kwargs):
    """skorch's ``notify``, calling only the callbacks that act on the event."""
    getattr(net, method_name)(net, **cb_kwargs)
    callbacks_ = net.callbacks_
    session = current_session(net)
    index = None if session is None else session.hook_index
    if index is None or not index.describes(callbacks_):
        index = HookIndex(callbacks_)  # new, or callbacks_ was changed
        if session is not None:
            session.hook_index = index
    callbacks = index.hooks.get(method_name)
    if callbacks is None:  # an event of a user's own
        callbacks = [cb for _, cb in callbacks_]
    for cb in callbacks:
        getattr(cb, method_name)(net, **cb_kwargs)
    if method_name == "on_epoch_end" and session is not None:
        if session.stop_requested:
            session.stop_requested = False
            raise EarlyStop()


def train(net, X, y, dataset, session, fit_params):
    """skorch's ``partial_fit`` body: callbacks around ``fit_loop``.

    A callback's ``KeyboardInterrupt`` (skorch's ``EarlyStopping``, ours)
    ends the fit normally; the user's Ctrl-C restores the best weights,
    closes the history and propagates, so scripts and searches stop.
    """
    net.notify("on_train_begin", X=X, y=y)
    interrupted = UserInterrupt()
    try:
        with interrupted.watch():
            net.fit_loop(
                dataset,
                None,
                epochs=session.epochs,
                _routing_method=session.kind,
                **fit_params,
            )
    except KeyboardInterrupt:
        session.batch = None
        _close_interrupted_epoch(net.history_)  # stopped mid-epoch: no half row
        net.notify("on_train_end", X=X, y=y)
        if interrupted.by_user:
            raise
        return
    finally:
        session.batch = None
    net.notify("on_train_end", X=X, y=y)


def _close_interrupted_epoch(history):
    if history and "train_loss" not in history[-1]:
        history.pop()


def shows_user_targets(net):
    """Whether a callback looks at batches (decoding their targets costs a little)."""
    return any(
        not isinstance(cb, _BLIND_TO_TARGETS)
        and (acts_on(cb, "on_batch_begin") or acts_on(cb, "on_batch_end"))
        for _, cb in net.callbacks_
    )


def user_batch(net, batch):
    """A batch with its targets in the user's labels or units."""
    if not isinstance(batch, _SEQUENCES) or len(batch) != 2:
        return batch
    Xi, yi = batch
    if not isinstance(yi, torch.Tensor):
        return batch
    return Xi, net._target().decode_batch(yi)


def has_batch_norm(net):
    return any(isinstance(layer, _BATCH_NORMS) for layer in net_layers(net))


def _batch_len(batch):
    # skorch's get_len; for a tensor that is len(), read without its walk.
    first = batch[0] if isinstance(batch, _SEQUENCES) else batch
    if isinstance(first, torch.Tensor) and first.dim():
        return first.shape[0]
    return get_len(first)


def _cpu_index(positions):
    if isinstance(positions, torch.Tensor):
        return positions.cpu().numpy()
    return positions
