"""skorch's training loop, fed by the fast in-memory path.

Training runs through skorch's own extension points: ``fit_loop``,
``run_single_epoch``, ``train_step``/``train_step_single``,
``validation_step``, ``get_loss``, ``get_iterator``, ``notify``. This mixin
only changes what they are given: ``get_split_datasets`` splits with the
estimator's validation settings, ``get_iterator`` hands in-memory data out
as tensor slices, ``get_loss`` applies per-sample weights, and the batches
shown to callbacks carry the user's labels and units.
"""

import contextlib
import operator
import signal
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from skorch.callbacks import (
    Callback,
    EpochTimer,
    GradientNormClipping,
    PassthroughScoring,
    PrintLog,
)
from skorch.dataset import Dataset, get_len
from skorch.utils import to_tensor
from torch.utils.data import DataLoader

from ..data import (
    ArrayDataset,
    AugmentedBatches,
    EpochPermutation,
    TensorBatches,
    net_layers,
)
from ..runtime import gc_paused
from .callbacks import (
    BestModel,
    DivergenceCheck,
    EarlyStop,
    EpochMetrics,
    KerasProgress,
    LossAverage,
    LRSchedule,
)
from .metrics import make_scorers
from .monitor import lower_is_better
from .outputs import apply_loss_input, loss_input, recognise
from .sklearn_callbacks import SKLEARN_CALLBACKS, EpochTasks
from .skorch_callbacks import SkorchAccuracy, needs_validation, validation_notice

# "auto" training length: enough optimiser steps for small tables, at least
# MIN_EPOCHS passes over large ones.
TARGET_STEPS = 2000
MIN_EPOCHS, MAX_EPOCHS = 10, 200
# Rows per validation forward call when batch_size is "auto".
AUTO_VALID_BATCH_SIZE = 4096
# DataLoader settings the tensor-slicing path reproduces exactly.
_FAST_LOADER_KEYS = {"batch_size", "shuffle", "drop_last"}
_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_grad_computed",
)
_SEQUENCES = (tuple, list)
# get_loss has not yet decided what the criterion is given.
_UNSET = object()
# Losses over class indices whose mean torch weights by weight[y], ignore_index.
_CLASS_INDEX_LOSSES = (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss)
_ONE_LOSS_FOR_WEIGHTS = (
    "sample_weight or class_weight was given, but the criterion {!r} returned "
    "one loss for the whole batch, so the weights cannot apply. Use a criterion "
    "that returns one loss per sample (torch's loss classes do: the estimator "
    "builds them with reduction='none'), or fit without weights."
)
# Default callbacks that read what the user's callbacks record each epoch.
_AFTER_USER_CALLBACKS = ("lr_schedule", "best_model")
# Events called in callbacks_ order: the best weights are back before the
# user's on_train_end (a TrainEndCheckpoint saves them, a Checkpoint with
# load_best loads its own over them). on_train_begin stays deferred: the
# best epoch is read from a history a LoadInitState may have just loaded.
_IN_LIST_ORDER = ("on_train_end",)


@dataclass
class BatchState:
    """What the current batch carries besides (X, y): for loss and metrics."""

    targets: object
    weights: object = None
    metric_weights: object = None
    # Targets encoded by the estimator (class codes 0..K-1, never negative).
    encoded: bool = False


class TrainingLoop:
    """The overrides of skorch's loop and the callbacks built from parameters."""

    _batch_state = None
    # Whether module outputs may be probabilities (classifiers say yes).
    _recognises_outputs = False

    def _independent_outputs(self):
        return False

    # -- callbacks -----------------------------------------------------------

    @property
    def _default_callbacks(self):
        monitor = self._monitor_key()
        lower = self._monitor_lower_is_better()
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", LossAverage(name="train_loss", on_train=True)),
            ("valid_loss", LossAverage(name="valid_loss")),
            ("metrics", EpochMetrics(self._scorers(), self.metrics is not None)),
        ]
        if not self._regression:  # skorch's name for validation accuracy
            callbacks.append(("valid_acc", SkorchAccuracy()))
        callbacks += [
            (
                "lr_schedule",
                LRSchedule(
                    self.lr_schedule,
                    monitor,
                    self.get_params_for("lr_schedule"),
                    lower_is_better=lower,
                ),
            ),
        ]
        # Always present (a None value clips nothing), so callbacks__* reach it.
        callbacks.append(("gradient_clip", GradientNormClipping(self.gradient_clip)))
        callbacks.append(("divergence", DivergenceCheck()))
        callbacks.append(
            (
                "best_model",
                BestModel(
                    monitor,
                    self.patience,
                    self.min_delta,
                    self.restore_best_weights and not self._user_stops_training(),
                    self.checkpoint_dir,
                    required=self._monitor_required(),
                    lower_is_better=lower,
                ),
            )
        )
        if SKLEARN_CALLBACKS:
            callbacks.append(("sklearn_callbacks", EpochTasks()))
        if not self._user_has(PrintLog):  # a user's PrintLog replaces it
            callbacks.append(("print_log", KerasProgress(self.verbose, monitor)))
        return callbacks

    def _scorers(self):
        metrics = self._default_metrics() if self.metrics is None else self.metrics
        try:
            return make_scorers(metrics, self._metric_context())
        except ValueError:
            return {}  # reported by the checks at fit

    def _monitor_lower_is_better(self):
        """Direction of ``monitor``: what the metrics or a user's scoring says."""
        return lower_is_better(
            self._monitor_key(), self._scorers(), self._user_callbacks()
        )

    def _user_stops_training(self):
        # skorch's EarlyStopping owns stopping and restoring (its load_best).
        from skorch.callbacks import EarlyStopping

        return self._user_has(EarlyStopping)

    def _callbacks_needing_validation(self):
        """The user's callbacks that read validation scores, described.

        skorch's ``EarlyStopping`` and ``Checkpoint`` on ``valid_*`` keys
        (their defaults), scoring callbacks scored on validation data,
        ``LRScheduler`` with ``ReduceLROnPlateau`` on a ``valid_*`` key, and
        any callback with a ``valid_*`` ``monitor``; with the
        ``callbacks__<name>__*`` parameters the fit will set on them.
        """
        if self.callbacks == "disable":  # skorch's word for no callbacks at all
            return []
        mine = {id(callback) for callback in self._user_callbacks()}
        routed = self._routed_params()
        reasons = []
        for name, callback in self._uniquely_named_callbacks():
            if id(callback) not in mine:
                continue
            callback = routed.get(f"callbacks__{name}", callback)  # replaced
            why = needs_validation(callback, self.get_params_for(f"callbacks__{name}"))
            if why:
                reasons.append(f"{type(callback).__name__}({why})")
        # skorch's valid_acc, configured through callbacks__valid_acc__*.
        configured = self.get_params_for("callbacks__valid_acc")
        if configured and not configured.get("on_train") and not self._regression:
            if routed.get("callbacks__valid_acc", True) is not None:
                reasons.append("valid_acc(" + ", ".join(sorted(configured)) + ")")
        return reasons

    def _holds_out_for_callbacks(self):
        """Whether the automatic hold-out is for the user's callbacks alone."""
        return (
            self.validation_fraction is None
            and self.train_split is None
            and not self._monitors_validation()
            and bool(self._callbacks_needing_validation())
        )

    def _user_has(self, kind):
        return any(isinstance(callback, kind) for callback in self._user_callbacks())

    def _user_callbacks(self):
        """The callbacks of the ``callbacks`` parameter, without their names."""
        callbacks = self.callbacks if isinstance(self.callbacks, list | tuple) else []
        return [item[1] if isinstance(item, tuple) else item for item in callbacks]

    def _uses_monitor(self):
        """Whether early stopping, checkpoints or a plateau schedule need monitor."""
        return (
            self.patience is not None
            or self.checkpoint_dir is not None
            or self.lr_schedule == "plateau"
        )

    def _monitor_required(self):
        """Whether a fit that does not record ``monitor`` is an error.

        Yes when something needs it, or when the user chose it (a monitor
        other than the default) for ``restore_best_weights``.
        """
        chosen = self._monitor_key() != "valid_loss" and self.restore_best_weights
        return self._uses_monitor() or chosen

    def initialize_callbacks(self):
        super().initialize_callbacks()
        self._index_hooks()
        return self

    def _index_hooks(self):
        # Which callbacks act on each event; the rest are skipped per batch.
        self._hook_callbacks = _HookIndex(self.callbacks_)
        return self._hook_callbacks

    def notify(self, method_name, **cb_kwargs):
        getattr(self, method_name)(self, **cb_kwargs)
        callbacks_ = self.callbacks_
        index = self.__dict__.get("_hook_callbacks")
        if index is None or not index.describes(callbacks_):
            index = self._index_hooks()  # callbacks_ was changed
        callbacks = index.hooks.get(method_name)
        if callbacks is None:  # an event of a user's own
            callbacks = [cb for _, cb in callbacks_]
        for cb in callbacks:
            getattr(cb, method_name)(self, **cb_kwargs)
        if method_name == "on_epoch_end" and self.__dict__.pop("_stop_requested", 0):
            raise EarlyStop()

    # -- data ------------------------------------------------------------------

    def check_data(self, X, y=None):
        # Validated before the loop; skorch's checks would re-read the data.
        pass

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset = self.get_dataset(X, y)
        valid = self.__dict__.get("_fit_validation")
        if valid is not None:
            return dataset, valid
        fraction = self._validation_fraction(len(dataset))
        if self._holds_out_for_callbacks():
            warnings.warn(
                validation_notice(
                    self._callbacks_needing_validation(), fraction, len(dataset)
                ),
                UserWarning,
                stacklevel=2,
            )
        if fraction:
            return self._split(dataset, fraction)
        if not self.train_split:
            return dataset, None
        if isinstance(dataset, ArrayDataset):
            # A user's split sees what skorch would give it: the data and y.
            shown = Dataset(dataset.X, dataset.y)
            train, valid = self.train_split(shown, dataset.y, **fit_params)
            return self._adopt_split(train, dataset), self._adopt_split(valid, dataset)
        y = self.__dict__.get("_dataset_y")
        if y is None:
            train, valid = self.train_split(dataset, **fit_params)
        else:
            train, valid = self.train_split(dataset, y, **fit_params)
        return train, valid

    def get_iterator(self, dataset, training=False):
        name = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(name)
        iterator = self.iterator_train if training else self.iterator_valid
        fast = (
            isinstance(dataset, ArrayDataset)
            and iterator is DataLoader
            and set(kwargs) <= _FAST_LOADER_KEYS
        )
        batch_size = kwargs.pop("batch_size", None)
        if batch_size is None:
            batch_size = self._resolved_batch_size(len(dataset), training)
        if batch_size == -1:
            batch_size = len(dataset)
        if fast:
            return TensorBatches(
                dataset,
                batch_size,
                shuffle=kwargs.get("shuffle", training),
                drop_last=kwargs.get("drop_last", False),
                generator=self.__dict__.get("_shuffle_generator"),
                on_batch=self._set_batch_state,
                augment=self.augment if training else None,
                # Batch norm cannot train on a batch of one row.
                merge_single_row=training and _has_batch_norm(self),
            )
        if isinstance(dataset, ArrayDataset) and dataset.weights is not None:
            raise ValueError(
                "sample_weight and class_weight need the built-in batching; "
                f"they cannot be combined with a custom {name} or {name}__"
                f"{sorted(set(kwargs) - _FAST_LOADER_KEYS)}."
            )
        if training:
            kwargs.setdefault("shuffle", True)
        generator = self.__dict__.get("_shuffle_generator")
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
        if training and self.augment is not None:
            return AugmentedBatches(loader, self.augment)
        return loader

    def _set_batch_state(self, dataset, positions, targets, weights):
        if dataset is None:
            self._batch_state = None
            return
        metric_weights = None
        if dataset.metric_weights is not None:
            metric_weights = dataset.row_metric_weights(_cpu_index(positions))
        self._batch_state = BatchState(targets, weights, metric_weights, encoded=True)

    def _resolved_batch_size(self, n_rows, training):
        if self.batch_size == "auto":
            if not training:
                return AUTO_VALID_BATCH_SIZE
            return int(np.clip(n_rows // 100, 32, 256))
        return self.batch_size

    def _max_epochs(self, n_train, batch_size):
        if self.max_epochs == "auto":
            steps_per_epoch = max(1, -(-n_train // batch_size))
            return int(
                np.clip(-(-TARGET_STEPS // steps_per_epoch), MIN_EPOCHS, MAX_EPOCHS)
            )
        return int(self.max_epochs)

    # -- one epoch -------------------------------------------------------------

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch, with the user's labels in the batches callbacks see."""
        if iterator is None:
            return
        batch_count = 0
        shows_labels = self._shows_user_targets()
        keeps_state = isinstance(iterator, TensorBatches)  # it sets each batch's
        loss_key, size_key = prefix + "_loss", prefix + "_batch_size"
        weight_key = prefix + "_batch_weight"
        # Every submodule in the mode of the epoch (the steps only switch on
        # change): one the user left in eval mode trains as skorch trains it.
        super()._set_training(training)
        with gc_paused():
            for batch in iterator:
                if self._batch_state is None and isinstance(batch, _SEQUENCES):
                    self._batch_state = BatchState(batch[1] if len(batch) > 1 else None)
                shown = self._user_batch(batch) if shows_labels else batch
                self.notify("on_batch_begin", batch=shown, training=training)
                step = step_fn(batch, **fit_params)
                history = self.history
                history.record_batch(loss_key, step["loss"].item())
                history.record_batch(size_key, _batch_len(batch))
                weights = self._batch_state and self._batch_state.weights
                if weights is not None:  # what the epoch's weighted mean needs
                    history.record_batch(weight_key, float(weights.sum()))
                self.notify("on_batch_end", batch=shown, training=training, **step)
                if not keeps_state:
                    self._batch_state = None
                batch_count += 1
        self.history.record(prefix + "_batch_count", batch_count)

    def _shows_user_targets(self):
        # Decoding batches costs a little; only user callbacks look at them.
        ours = (
            EpochTimer,
            PassthroughScoring,
            EpochMetrics,
            DivergenceCheck,
            KerasProgress,
        )
        return any(
            not isinstance(cb, ours)
            and (_acts_on(cb, "on_batch_begin") or _acts_on(cb, "on_batch_end"))
            for _, cb in self.callbacks_
        )

    def _user_batch(self, batch):
        if not isinstance(batch, _SEQUENCES) or len(batch) != 2:
            return batch
        Xi, yi = batch
        if not isinstance(yi, torch.Tensor):
            return batch
        return Xi, self._decode_batch_targets(yi)

    def _set_training(self, training=True):
        # skorch sets the mode before every batch; walking the module tree
        # each time costs more than a small network's step, so only on change.
        module = self.__dict__.get("module_")
        if isinstance(module, torch.nn.Module) and module.training == training:
            criterion = self.__dict__.get("criterion_")
            if not isinstance(criterion, torch.nn.Module) or (
                criterion.training == training
            ):
                if len(self._modules) + len(self._criteria) <= 2:
                    return
        super()._set_training(training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Loss of one batch, as the criterion reduces it; weighted with weights.

        Without weights this is ``criterion_(y_pred, y_true)``: the criterion
        is built with the reduction it reports (torch's ``"mean"`` unless
        ``criterion__reduction`` says otherwise), as in skorch. With
        ``sample_weight`` or class weights, a ``"mean"`` criterion gives one
        loss per sample for this batch, and the weighted mean is returned
        (a ``CrossEntropyLoss`` or ``NLLLoss`` with ``weight`` or
        ``ignore_index`` averaged as torch's mean is, over ``weight[y]`` of
        the targets not ignored); the batch's weights are those of the
        batch being processed, so an override with skorch's signature works
        unchanged. A criterion that returns one loss for the batch cannot
        take weights (``ValueError`` when there are some). With
        ``criterion__reduction="none"`` given and ``get_loss`` overridden
        (skorch's sample-weight recipe), the per-sample losses are returned
        for the override to reduce; without the override they are averaged
        during a fit (a step needs one loss) and returned as they are
        outside one (skorch's ``loss_scoring``).

        Outputs that are probabilities (a module ending in ``softmax`` or
        ``sigmoid``) reach a criterion that takes log-probabilities or
        logits as skorch gives them: see ``nnestimators.training.outputs``.
        """
        if not (
            isinstance(y_true, torch.Tensor) and y_true.device == self._torch_device
        ):
            y_true = to_tensor(y_true, device=self.device_)
        if isinstance(y_pred, torch.Tensor) and y_pred.shape != y_true.shape:
            if y_pred.numel() == y_true.numel() and y_true.dim() >= 1:
                y_pred = y_pred.reshape(y_true.shape)
        transform = self.__dict__.get("_loss_input", _UNSET)
        if transform is not None:  # probabilities, or not yet recognised
            y_pred = self._outputs_for_loss(y_pred, transform, training)
        criterion = self.criterion_
        state = self._batch_state
        weights = None if state is None else state.weights
        if weights is None:
            losses = criterion(y_pred, y_true)
        else:
            losses = _per_sample_losses(criterion, y_pred, y_true)
        if not isinstance(losses, torch.Tensor) or losses.dim() == 0:
            if weights is not None:
                raise ValueError(_ONE_LOSS_FOR_WEIGHTS.format(criterion))
            return losses
        if self.__dict__.get("_user_weights_losses"):
            return losses  # skorch's recipe: the override reduces them
        if weights is None and not self.__dict__.get("_fitting_batch_sizes"):
            if getattr(criterion, "reduction", None) == "none":
                return losses  # outside a fit, as reported (skorch's loss_scoring)
        counts = _counted_targets(
            self.criterion_, y_true, losses, encoded=state is not None and state.encoded
        )
        if counts is not None:
            return _mean_over_counted(losses, counts, weights)
        if losses.dim() > 1:
            losses = losses.reshape(len(losses), -1).mean(dim=1)
        if weights is None or len(weights) != len(losses):
            return losses.mean()
        total = weights.sum().clamp_min(torch.finfo(losses.dtype).tiny)
        return (losses * weights).sum() / total

    def _outputs_for_loss(self, y_pred, transform, training):
        """The slow path of ``get_loss``: the first batch, or probabilities."""
        if transform is _UNSET:
            transform = self._settle_loss_input(y_pred, training)
        return apply_loss_input(transform, y_pred)

    def _settle_loss_input(self, y_pred, training):
        """Recognise the module's outputs once; decide what the criterion gets."""
        if not self._recognises_outputs:
            self._loss_input = None
            return None
        kind = self.__dict__.get("module_outputs_")
        guessed = False
        if kind is None:
            kind, guessed = recognise(y_pred, self._independent_outputs())
            if kind is None:
                return None  # no graph to read here: decided on a training batch
            self.module_outputs_ = kind
        transform, notice = loss_input(
            kind,
            self.criterion_,
            adaptable=not isinstance(self.criterion, torch.nn.Module),
            independent=self._independent_outputs(),
            by_values=guessed,
        )
        if notice:
            warnings.warn(notice, UserWarning, stacklevel=2)
        self._loss_input = transform
        return transform

    def _forget_outputs(self):
        """A new module: its outputs are recognised again on the next batch."""
        self.__dict__.pop("module_outputs_", None)
        self.__dict__.pop("_loss_input", None)

    def infer(self, x, **fit_params):
        """Run the module on one batch (on ``device_``)."""
        try:
            if isinstance(x, torch.Tensor):
                if x.device != self._torch_device:
                    x = x.to(self._torch_device)
                return self.module_(x, **fit_params)
            x = to_tensor(x, device=self.device_)
            if isinstance(x, dict):
                return self.module_(**self._merge_x_and_fit_params(x, fit_params))
            return self.module_(x, **fit_params)
        except RuntimeError as exc:
            if "shapes cannot be multiplied" not in str(exc):
                raise
            raise ValueError(
                f"The module does not fit the data: {exc}. Samples here have "
                f"shape {tuple(getattr(x, 'shape', ())[1:])}; a module instance "
                "must be built for that size. Pass the module class instead "
                "(module=MyNet), and the estimator gives it n_features, "
                "input_shape and n_outputs inferred from the data."
            ) from exc

    # -- one call of fit or partial_fit ---------------------------------------

    def _train(self, X, y, dataset, epochs, fit_params):
        """skorch's partial_fit body: callbacks around ``fit_loop``.

        A callback's ``KeyboardInterrupt`` (skorch's ``EarlyStopping``, ours)
        ends the fit normally; the user's Ctrl-C restores the best weights,
        closes the history and propagates, so scripts and searches stop.
        """
        self.notify("on_train_begin", X=X, y=y)
        interrupted = _UserInterrupt()
        try:
            with interrupted.watch():
                self.fit_loop(
                    dataset,
                    None,
                    epochs=epochs,
                    _routing_method=self._fit_kind,
                    **fit_params,
                )
        except KeyboardInterrupt:
            self._batch_state = None
            self._close_interrupted_epoch()  # stopped mid-epoch: no half row
            self.notify("on_train_end", X=X, y=y)
            if interrupted.by_user:
                raise
            return
        finally:
            self._batch_state = None
        self.notify("on_train_end", X=X, y=y)

    def _close_interrupted_epoch(self):
        history = self.history_
        if history and "train_loss" not in history[-1]:
            history.pop()


class _UserInterrupt:
    """Tells a Ctrl-C (SIGINT) apart from a callback's ``KeyboardInterrupt``."""

    def __init__(self):
        self.by_user = False

    @contextlib.contextmanager
    def watch(self):
        main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGINT)
        if not main or not callable(previous):  # ignored, or the OS default
            yield
            return

        def handler(signum, frame):
            # Python's handler raises KeyboardInterrupt; a library's may
            # wrap it, or only take note (then nothing was interrupted).
            self.by_user = True
            previous(signum, frame)
            self.by_user = False

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


class _HookIndex:
    """The callbacks that act on each event, for one state of ``callbacks_``.

    ``notify`` checks per call that ``callbacks_`` still holds the same
    entries (the same ``(name, callback)`` tuples, by identity, in the same
    order): a comparison in C, where re-reading every callback costs more
    than a small network's batch. Entries that are not tuples can change in
    place, so for those the callbacks themselves are compared.
    """

    __slots__ = ("entries", "mutable", "hooks")

    def __init__(self, callbacks_):
        entries = list(callbacks_)
        callbacks = [cb for _, cb in entries]
        self.entries = entries
        # The callbacks to compare when an entry is not a tuple; else None.
        self.mutable = (
            None if all(type(entry) is tuple for entry in entries) else callbacks
        )
        listed = [cb for _, cb in entries]
        order = [cb for _, cb in _execution_order(entries)]
        self.hooks = {
            hook: [
                cb
                for cb in (listed if hook in _IN_LIST_ORDER else order)
                if _acts_on(cb, hook)
            ]
            for hook in _HOOKS
        }

    def describes(self, callbacks_):
        entries = self.entries
        if len(callbacks_) != len(entries):
            return False
        if self.mutable is None:
            return all(map(operator.is_, entries, callbacks_))
        return all(map(operator.is_, self.mutable, (cb for _, cb in callbacks_)))


_BATCH_NORMS = (
    torch.nn.BatchNorm1d,
    torch.nn.BatchNorm2d,
    torch.nn.BatchNorm3d,
    torch.nn.SyncBatchNorm,
)


def _has_batch_norm(net):
    return any(isinstance(layer, _BATCH_NORMS) for layer in net_layers(net))


def _execution_order(entries):
    """``callbacks_`` in the order they are called each epoch and batch:
    ``lr_schedule`` and ``best_model`` after the user's callbacks, whose
    scores they may watch, and before the PrintLogs that skorch keeps last
    (to show the marks)."""
    deferred = [entry for entry in entries if entry[0] in _AFTER_USER_CALLBACKS]
    rest = [entry for entry in entries if entry[0] not in _AFTER_USER_CALLBACKS]
    tail = len(rest)
    while tail and isinstance(rest[tail - 1][1], PrintLog):
        tail -= 1
    return rest[:tail] + deferred + rest[tail:]


def _acts_on(callback, hook):
    # A callback that is not a skorch Callback subclass (a Mock, an object
    # with the hooks) is always called.
    if not isinstance(callback, Callback):
        return True
    if hook in getattr(callback, "__dict__", ()):  # set on the instance
        return True
    base = getattr(Callback, hook, None)
    if base is not None and getattr(type(callback), hook, None) is base:
        return False  # skorch's no-op, never overridden
    declared = getattr(callback, "acts_on", None)
    if callable(declared):  # ours say when a hook has nothing to do
        return declared(hook)
    return True


def _counted_targets(criterion, y_true, losses, encoded):
    """What torch's ``reduction="mean"`` divides by, per loss entry, where it
    is not one per entry: ``weight[y]`` for a class-weighted
    ``CrossEntropyLoss``/``NLLLoss``, 0 for targets equal to ``ignore_index``.
    None where the plain mean is torch's mean."""
    if not isinstance(criterion, _CLASS_INDEX_LOSSES):
        return None
    if not isinstance(y_true, torch.Tensor) or y_true.is_floating_point():
        return None  # class probabilities: torch averages over the batch
    weight, ignore = criterion.weight, criterion.ignore_index
    # Encoded class codes are never negative: the default -100 cannot occur.
    may_ignore = not (encoded and ignore < 0)
    if weight is None and not may_ignore:
        return None
    if not may_ignore:
        return weight.to(losses.dtype)[y_true]
    # torch.where, not a cast of the mask: no whole-tensor copy per batch.
    kept = y_true != ignore
    zero = losses.new_zeros(())
    if weight is None:
        return torch.where(kept, losses.new_ones(()), zero)
    return torch.where(
        kept, weight.to(losses.dtype)[y_true.masked_fill(~kept, 0)], zero
    )


def _per_sample_losses(criterion, y_pred, y_true):
    """The criterion's losses per sample, for weighting.

    torch's losses read ``reduction`` when called: a ``"mean"`` criterion
    gives its unreduced losses for this call and reports ``"mean"`` again.
    """
    if getattr(criterion, "reduction", None) != "mean":
        return criterion(y_pred, y_true)
    criterion.reduction = "none"
    try:
        return criterion(y_pred, y_true)
    finally:
        criterion.reduction = "mean"


def _mean_over_counted(losses, counts, weights):
    """torch's weighted mean; per-sample weights scale each sample's share."""
    if losses.dim() > 1:
        losses = losses.reshape(len(losses), -1).sum(dim=1)
        counts = counts.reshape(len(counts), -1).sum(dim=1)
    if weights is not None and len(weights) == len(losses):
        losses, counts = losses * weights, counts * weights
    # A batch of ignored targets only contributes nothing (torch: NaN).
    return losses.sum() / counts.sum().clamp_min(torch.finfo(losses.dtype).tiny)


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


__all__ = ["TrainingLoop", "EarlyStop"]
