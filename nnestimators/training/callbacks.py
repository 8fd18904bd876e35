"""Training control as skorch callbacks, built from the estimators' plain parameters.

Each is an ordinary ``skorch.callbacks.Callback`` in ``callbacks_`` under the
name given here, so it can be read (``net.callbacks_``), tuned
(``callbacks__best_model__patience``) or replaced like any skorch callback.

========================  ==================================================
name                      built from
========================  ==================================================
``metrics``               ``metrics``: ``train_<name>`` and ``valid_<name>``
``lr_schedule``           ``lr_schedule`` (records ``lr`` every epoch)
``gradient_clip``         ``gradient_clip`` (skorch's ``GradientNormClipping``)
``divergence``            always: a clear error when the loss is not finite
``best_model``            ``monitor``, ``patience``, ``min_delta``,
                          ``restore_best_weights``, ``checkpoint_dir``
``progress``              ``verbose``: Keras-style epoch lines, batch bar
========================  ==================================================
"""

import math
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback, PassthroughScoring, PrintLog

from ..checkpoints import write_checkpoint
from ..session import current_session, stop_after_this_epoch
from .divergence import TrainingDivergedError, divergence_message
from .history import last_row
from .metrics import FrozenPredictions, score_outputs
from .monitor import Monitor, lower_is_better
from .outputs import full_precision
from .progress import batch_bar, epoch_line
from .schedules import make_scheduler, step_scheduler


class EarlyStop(KeyboardInterrupt):
    """Ends training; skorch's loop ends the fit normally."""


class EpochMetrics(Callback):
    """scikit-learn scorers on each epoch's training and validation outputs.

    Training scores come from the outputs the training steps already
    computed (as Keras does: the weights change during the epoch and
    dropout is active), validation scores from the validation pass; no
    extra forward pass is made.

    Parameters
    ----------
    scorers : dict
        ``{name: scorer}``, recorded as ``train_<name>`` and ``valid_<name>``.
    on_train : bool
        Whether to score the training outputs too (the default metrics of
        ``metrics=None`` score validation data only).
    """

    def __init__(self, scorers=None, on_train=True):
        self.scorers = scorers
        self.on_train = on_train

    def on_epoch_begin(self, net, **kwargs):
        self.outputs_ = {True: [], False: []}

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not self.scorers or y_pred is None or (training and not self.on_train):
            return
        session = current_session(net)
        state = None if session is None else session.batch
        if state is None or state.targets is None:
            return  # a user's own iterator: no encoded targets to score
        self.outputs_[training].append(
            (
                full_precision(_first(y_pred).detach()),
                state.targets.detach(),
                state.metric_weights,
            )
        )

    def on_epoch_end(self, net, **kwargs):
        if not self.scorers:
            return
        for training, prefix in ((True, "train"), (False, "valid")):
            collected = self.outputs_.get(training)
            if not collected:
                continue
            raw = torch.cat([c[0] for c in collected]).cpu()
            targets = torch.cat([c[1] for c in collected]).cpu().numpy()
            weights = [c[2] for c in collected]
            weights = None if weights[0] is None else np.concatenate(weights)
            target = net.target_
            stand_in = FrozenPredictions(
                net.__sklearn_tags__(),
                target.metric_classes,
                target.outputs(raw, current_session(net).reading),
            )
            scores = score_outputs(
                self.scorers, stand_in, target.metric_targets(targets), weights
            )
            for name, score in scores.items():
                net.history.record(f"{prefix}_{name}", score)
        self.outputs_ = {True: [], False: []}


class LossAverage(PassthroughScoring):
    """skorch's ``PassthroughScoring``, and with sample weights a weighted mean.

    A batch's loss is the weighted mean over its rows, so the epoch's loss
    weights the batches by their total weight (``<prefix>_batch_weight``,
    recorded when there are weights), not by their sizes.
    """

    def get_avg_score(self, history):
        key = ("train" if self.on_train else "valid") + "_batch_weight"
        batches = [batch for batch in history[-1, "batches"] if self.name in batch]
        weights = [batch.get(key) for batch in batches]
        if batches and None not in weights and sum(weights) > 0:
            scores = [batch[self.name] for batch in batches]
            return np.average(scores, weights=weights)
        return super().get_avg_score(history)


class LRSchedule(Callback):
    """Step a schedule, if any, and record the learning rate each epoch it runs.

    The rate is recorded (``lr``) only with a schedule, when it can change:
    as Keras logs it with its rate callbacks and skorch with its
    ``LRScheduler`` (``event_lr``).

    Parameters
    ----------
    lr_schedule : None, str or type
        As the estimators' ``lr_schedule`` parameter.
    monitor : str
        History key a ``"plateau"`` schedule watches.
    kwargs : dict
        The ``lr_schedule__*`` arguments.
    lower_is_better : bool or None
        Direction of ``monitor`` for ``"plateau"``; None infers it from the
        name.
    """

    def __init__(
        self, lr_schedule=None, monitor="valid_loss", kwargs=None, lower_is_better=None
    ):
        self.lr_schedule = lr_schedule
        self.monitor = monitor
        self.kwargs = kwargs
        self.lower_is_better = lower_is_better

    def on_train_begin(self, net, **kwargs):
        # A subclass's own initialize_optimizer need not know lr_scheduler_.
        current = getattr(net, "lr_scheduler_", None)
        if getattr(current, "optimizer", None) is not net.optimizer_:
            current = None  # the schedule of an optimizer since replaced
        net.lr_scheduler_ = current
        if self.lr_schedule is not None and current is None:
            net.lr_scheduler_ = make_scheduler(
                self.lr_schedule,
                net.optimizer_,
                self.kwargs or {},
                lower_is_better=(
                    lower_is_better(self.monitor)
                    if self.lower_is_better is None
                    else self.lower_is_better
                ),
                max_epochs=current_session(net).schedule_epochs,
            )

    def acts_on(self, hook):
        """Without a schedule there is nothing to step or record."""
        return self.lr_schedule is not None or hook == "on_train_begin"

    def on_epoch_begin(self, net, **kwargs):
        # Recorded first, so every callback's on_epoch_end sees this epoch's rate.
        if self.lr_schedule is None:
            return
        try:
            lr = net.optimizer_.param_groups[0]["lr"]
        except (AttributeError, TypeError, KeyError, IndexError):
            lr = None  # a stand-in optimizer (a Mock in a test, say)
        if isinstance(lr, int | float):
            net.history.record("lr", lr)

    def on_epoch_end(self, net, **kwargs):
        step_scheduler(net.lr_scheduler_, last_row(net.history).get(self.monitor))


class DivergenceCheck(Callback):
    """Stop with ``TrainingDivergedError`` as soon as a training loss is not finite."""

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        row = last_row(net.history)
        loss = row["batches"][-1].get("train_loss") if row["batches"] else None
        if loss is not None and not math.isfinite(loss):
            raise TrainingDivergedError(
                divergence_message(
                    row["epoch"],
                    len(row["batches"]),
                    net.lr,
                    net.gradient_clip,
                    regression=net.target_.task == "regression",
                )
            )


class BestModel(Callback):
    """Track the best epoch of ``monitor``; stop early, restore, checkpoint.

    Parameters
    ----------
    monitor : str
        History key that defines the best epoch (losses and errors are
        minimised, scores maximised).
    patience : int or None
        Stop after this many epochs without improvement; None never stops.
    min_delta : float
        Smallest change that counts as an improvement.
    restore_best_weights : bool
        Put the best epoch's weights back when ``fit`` ends.
    checkpoint_dir : str, path-like or None
        Write the best model so far into a folder of its own there.
    required : bool
        Whether a fit that does not record ``monitor`` is an error (early
        stopping, checkpoints and plateau schedules need it); otherwise such
        a fit just has no best epoch.
    lower_is_better : bool or None
        Whether smaller values of ``monitor`` are better; None infers it
        from the name (the estimators pass what their ``metrics`` say).
    """

    def __init__(
        self,
        monitor="valid_loss",
        patience=None,
        min_delta=0.0,
        restore_best_weights=True,
        checkpoint_dir=None,
        required=True,
        lower_is_better=None,
    ):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.checkpoint_dir = checkpoint_dir
        self.required = required
        self.lower_is_better = lower_is_better

    def on_train_begin(self, net, **kwargs):
        # Continued training (warm_start, partial_fit) picks up where it was.
        self.tracker_ = Monitor.from_history(
            net.history, self.monitor, self.min_delta, self.lower_is_better
        )
        self.best_state_ = None
        self.stopped_ = False

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        if self.monitor not in row:
            if not self.required:
                return
            raise ValueError(
                f"monitor={self.monitor!r} was not recorded in epoch "
                f"{row['epoch']}; recorded keys: {sorted(_scalar_keys(row))}."
            )
        improved = self.tracker_.update(row["epoch"], row[self.monitor])
        # Ours counts min_delta; skorch's scoring callbacks' flag does not.
        net.history.record(f"{self.monitor}_best", improved)
        if improved:
            net.best_epoch_ = row["epoch"]
            if self.restore_best_weights and current_session(net).restore_best:
                self.best_state_ = _copy_states(net)
            if self.checkpoint_dir is not None:
                self._write_checkpoint(net)
        waited = self.tracker_.epochs_without_improvement
        if self.patience is not None and waited >= self.patience:
            self.stopped_ = True
            stop_after_this_epoch(net)

    def _write_checkpoint(self, net):
        # A fit writes into a folder of its own; fits that continue it
        # (warm_start, partial_fit) keep writing there. A new history is a
        # new fit, and a fresh net (from_checkpoint, clone) starts a folder.
        same_fit = getattr(self, "written_history_", None) is net.history_
        current = getattr(self, "folder_", None) if same_fit else None
        net.checkpoint_path_ = write_checkpoint(net, self.checkpoint_dir, current)
        self.folder_, self.written_history_ = net.checkpoint_path_, net.history_

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            for name, state in self.best_state_.items():
                getattr(net, name + "_").load_state_dict(state)
            self.best_state_ = None
        session = current_session(net)
        ran_out = len(net.history) >= session.final_epoch and session.restore_best
        if self.patience is not None and not self.stopped_ and ran_out:
            warnings.warn(
                f"Training ended on max_epochs ({session.epochs}) while "
                f"{self.monitor} was still improving within patience="
                f"{self.patience}: early stopping never triggered. Increase "
                "max_epochs (or lr) to let it converge.",
                ConvergenceWarning,
                stacklevel=2,
            )


class KerasProgress(PrintLog):
    """Keras-style progress: one line per epoch, and a batch bar at ``verbose=2``.

    A ``PrintLog`` (named ``print_log`` and kept last, as skorch keeps its
    own) that prints ``Epoch 3/20 - loss: ... - val_loss: ... *`` lines
    instead of a table. Pass ``callbacks=[PrintLog()]`` for skorch's table.

    Parameters
    ----------
    verbose : int
        0 prints nothing, 1 a line per epoch, 2 also a bar over batches.
    monitor : str or None
        Key whose improvements are marked with ``*``.
    sink : callable, default=print
        Where the lines go; anything but ``print`` receives them even at
        ``verbose=0``, as with skorch's ``PrintLog``.
    keys_ignored : str or list of str, default=None
        History keys left out of the line.
    """

    def __init__(self, verbose=1, monitor=None, sink=print, keys_ignored=None):
        super().__init__(keys_ignored=keys_ignored, sink=sink)
        self.verbose = verbose
        self.monitor = monitor

    def acts_on(self, hook):
        """Only the bar (``verbose=2``) needs each batch."""
        return hook != "on_batch_end" or self.verbose >= 2

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        self.bar_ = None
        if self.verbose >= 2 and dataset_train is not None:
            session = current_session(net)
            n_batches = -(-len(dataset_train) // max(1, session.train_batch_size))
            self.bar_ = batch_bar(n_batches, len(net.history), session.final_epoch)

    def on_batch_end(self, net, training=False, **kwargs):
        if training and getattr(self, "bar_", None) is not None:
            self.bar_.update()

    def on_epoch_end(self, net, **kwargs):
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
            self.bar_ = None
        if self.verbose < 1 and self.sink is print:
            return
        row = {
            k: v
            for k, v in last_row(net.history).items()
            if k not in self.keys_ignored_
        }
        improved = self.monitor if row.get(f"{self.monitor}_best") else None
        session = current_session(net)
        final_epoch = len(net.history) if session is None else session.final_epoch
        self.sink(epoch_line(row, final_epoch, improved))


def _first(output):
    return output[0] if isinstance(output, tuple) else output


def _copy_states(net):
    """The weights of every module of the net (a subclass may add its own)."""
    states = {}
    for name in net._modules or ["module"]:
        module = getattr(net, name + "_", None)
        if isinstance(module, torch.nn.Module):
            states[name] = {
                k: v.detach().clone() for k, v in module.state_dict().items()
            }
    return states


def _scalar_keys(row):
    return [k for k, v in row.items() if isinstance(v, int | float) and k != "epoch"]
