"""The epoch loop: training steps, one validation pass, monitoring, stopping.

Mixed into the estimators; it drives the parts skorch set up (``module_``,
``criterion_``, ``optimizer_``, ``history_``, callbacks) over the batches
that ``preparation`` built, and records one history row per epoch.
"""

import math
import time
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback

from ..data import first_output
from ..runtime import gc_paused
from .divergence import TrainingDivergedError, divergence_message
from .metrics import FrozenPredictions, make_scorers, score_outputs
from .monitor import Monitor
from .progress import batch_bar, print_epoch
from .schedules import make_scheduler, step_scheduler

# "auto" training length: enough optimiser steps for small tables, at least
# MIN_EPOCHS passes over large ones.
TARGET_STEPS = 2000
MIN_EPOCHS, MAX_EPOCHS = 10, 200
# Rows per forward call when only inference is needed (validation).
INFERENCE_BATCH_SIZE = 4096


class TrainingLoop:
    """``_run_training`` and the per-epoch steps it is made of."""

    def _run_training(
        self, train, valid, metric_weights, *, epochs, seed, restore, fit_params
    ):
        batch_size = self._batch_size(len(train))
        max_epochs = epochs or self._max_epochs(len(train), batch_size)
        monitor = Monitor.from_history(self.history_, self.monitor, self.min_delta)
        if not hasattr(self, "best_epoch_"):
            self.best_epoch_ = None
        scheduler = self._scheduler(monitor, max_epochs)
        scorers = make_scorers(self._metrics()) if valid is not None else {}
        order = torch.Generator().manual_seed(seed)
        best_state = None
        epoch_kwargs = self._callback_datasets(train, valid)
        final_epoch = len(self.history_) + max_epochs

        self.notify("on_train_begin", X=None, y=None)
        try:
            for _epoch in range(max_epochs):
                self.notify("on_epoch_begin", **epoch_kwargs)
                start = time.perf_counter()
                epoch = len(self.history_)
                self.history_.record(
                    "train_loss",
                    self._train_epoch(
                        train, batch_size, order, epoch, max_epochs, fit_params
                    ),
                )
                if valid is not None:
                    self._validate_epoch(valid, scorers, metric_weights, fit_params)
                self.history_.record("lr", self.optimizer_.param_groups[0]["lr"])
                self.history_.record("dur", time.perf_counter() - start)

                improved = self._track(monitor, epoch)
                if improved and restore and self.restore_best_weights:
                    best_state = _copy_state(self.module_)
                step_scheduler(scheduler, self.history_[-1].get(monitor.key))
                if improved and self.checkpoint_dir is not None:
                    self._write_checkpoint()
                if self.verbose:
                    print_epoch(
                        self.history_[-1],
                        final_epoch,
                        monitor.key if improved else None,
                    )
                self.notify("on_epoch_end", **epoch_kwargs)
                if self.patience is not None and (
                    monitor.epochs_without_improvement >= self.patience
                ):
                    break
        except KeyboardInterrupt:
            warnings.warn(
                f"Training interrupted at epoch {len(self.history_)}; "
                + (
                    "the best weights are restored."
                    if best_state
                    else "the estimator keeps its current weights."
                ),
                UserWarning,
                stacklevel=3,
            )
        finally:
            if best_state is not None:
                self.module_.load_state_dict(best_state)
        self.notify("on_train_end", X=None, y=None)

    def _train_epoch(self, train, batch_size, order, epoch, max_epochs, fit_params):
        """One pass over the training data; returns the weighted mean loss."""
        self._set_training(True)
        permutation = torch.randperm(len(train), generator=order)
        hooks = self._batch_hooks()
        check_each_batch = torch.device(self.device_).type == "cpu"
        loss_sum = torch.zeros((), device=self.device_)
        weight_sum = 0.0
        finite = torch.ones((), dtype=torch.bool, device=self.device_)
        bar = (
            batch_bar(-(-len(permutation) // batch_size), epoch, max_epochs)
            if (self.verbose >= 2)
            else None
        )
        with gc_paused():
            for batch_index, (Xb, yb, wb) in enumerate(
                train.batches(batch_size, permutation), start=1
            ):
                if hooks:
                    self.notify("on_batch_begin", batch=(Xb, yb), training=True)
                loss, y_pred = self._train_step(Xb, yb, wb, hooks, fit_params)
                if wb is None:
                    batch_weight = len(yb)
                    loss_sum.add_(loss.detach(), alpha=batch_weight)
                else:
                    batch_weight = wb.sum()
                    loss_sum.add_(loss.detach() * batch_weight)
                weight_sum += batch_weight
                if check_each_batch:
                    if not math.isfinite(loss.item()):
                        self._diverged(epoch, batch_index)
                else:  # on accelerators, one flag read per epoch avoids a sync per batch
                    finite &= torch.isfinite(loss.detach())
                if hooks:
                    self.notify(
                        "on_batch_end",
                        batch=(Xb, yb),
                        training=True,
                        loss=loss,
                        y_pred=y_pred,
                    )
                if bar is not None:
                    bar.update()
        if bar is not None:
            bar.close()
        if not check_each_batch and not bool(finite):
            self._diverged(epoch, None)
        return float(loss_sum / weight_sum)

    def _train_step(self, Xb, yb, wb, hooks, fit_params):
        self.optimizer_.zero_grad(set_to_none=True)
        if self.augment is not None:
            Xb = self.augment(Xb)
        y_pred = self.infer(Xb, **fit_params)
        loss = self.get_loss(y_pred, yb, X=Xb, training=True, sample_weight=wb)
        loss.backward()
        if hooks:
            self.notify(
                "on_grad_computed",
                named_parameters=list(self.get_all_learnable_params()),
                batch=(Xb, yb),
                training=True,
            )
        if self.gradient_clip is not None:
            torch.nn.utils.clip_grad_norm_(
                self.module_.parameters(), self.gradient_clip, foreach=True
            )
        self.optimizer_.step()
        return loss, y_pred

    def _diverged(self, epoch, batch):
        raise TrainingDivergedError(
            divergence_message(epoch, batch, self.lr, self.gradient_clip)
        )

    def _validate_epoch(self, valid, scorers, metric_weights, fit_params):
        """One forward pass over the validation data: loss and every metric."""
        self._set_training(False)
        hooks = self._batch_hooks()
        outputs, targets = [], []
        loss_sum = weight_sum = 0.0
        with torch.inference_mode():
            for Xb, yb, wb in valid.batches(INFERENCE_BATCH_SIZE):
                if hooks:
                    self.notify("on_batch_begin", batch=(Xb, yb), training=False)
                y_pred = first_output(self.infer(Xb, **fit_params))
                if hooks:
                    self.notify(
                        "on_batch_end",
                        batch=(Xb, yb),
                        training=False,
                        y_pred=y_pred,
                        loss=None,
                    )
                batch_weight = len(yb) if wb is None else wb.sum()
                loss = self.get_loss(y_pred, yb, X=Xb, sample_weight=wb)
                loss_sum += loss * batch_weight
                weight_sum += batch_weight
                outputs.append(y_pred.float().cpu())
                targets.append(yb.cpu())
        self.history_.record("valid_loss", float(loss_sum / weight_sum))
        if not scorers:
            return
        raw = torch.cat(outputs)
        y_true = self._metric_targets(torch.cat(targets).numpy())
        stand_in = FrozenPredictions(
            self.__sklearn_tags__(),
            self._metric_classes(),
            self._frozen_outputs(raw),
        )
        for name, score in score_outputs(
            scorers, stand_in, y_true, metric_weights
        ).items():
            self.history_.record(f"valid_{name}", score)

    def _track(self, monitor, epoch):
        row = self.history_[-1]
        if monitor.key not in row:
            return False
        improved = monitor.update(epoch, row[monitor.key])
        self.history_.record(f"{monitor.key}_best", improved)
        if improved:
            self.best_epoch_ = epoch
        return improved

    def _scheduler(self, monitor, max_epochs):
        if self.lr_schedule is None:
            return None
        if getattr(self, "lr_scheduler_", None) is None:
            self.lr_scheduler_ = make_scheduler(
                self.lr_schedule,
                self.optimizer_,
                self.get_params_for("lr_schedule"),
                lower_is_better=monitor.lower_is_better,
                max_epochs=max_epochs,
            )
        return self.lr_scheduler_

    def _metrics(self):
        return self._default_metrics() if self.metrics is None else self.metrics

    def _default_metrics(self):
        return []

    def _callback_datasets(self, train, valid):
        # skorch callbacks (EpochScoring, ...) read skorch datasets at epoch end;
        # build them only when there are callbacks to read them.
        if not getattr(self, "callbacks_", None):
            return {"dataset_train": None, "dataset_valid": None}
        return {
            "dataset_train": train.as_dataset(),
            "dataset_valid": None if valid is None else valid.as_dataset(),
        }

    def _batch_hooks(self):
        """Whether any user callback acts per batch (else the loop skips notify)."""
        for _, callback in getattr(self, "callbacks_", []):
            for hook in ("on_batch_begin", "on_batch_end", "on_grad_computed"):
                if getattr(type(callback), hook) is not getattr(Callback, hook):
                    return True
        return False

    def _batch_size(self, n_train):
        if self.batch_size == "auto":
            return int(np.clip(n_train // 100, 32, 256))
        if self.batch_size == -1:
            return max(1, n_train)
        return int(self.batch_size)

    def _max_epochs(self, n_train, batch_size):
        if self.max_epochs == "auto":
            steps_per_epoch = max(1, -(-n_train // batch_size))
            return int(
                np.clip(-(-TARGET_STEPS // steps_per_epoch), MIN_EPOCHS, MAX_EPOCHS)
            )
        return int(self.max_epochs)

    def _write_checkpoint(self):
        from ..checkpoints import write_checkpoint

        self.checkpoint_path_ = write_checkpoint(
            self, self.checkpoint_dir, getattr(self, "checkpoint_path_", None)
        )


def _copy_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}
