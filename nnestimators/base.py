"""The adapter that makes skorch's nets behave as scikit-learn estimators.

Data flows one way: validate -> encode -> tensors -> training loop ->
history/checkpoints -> decoded predictions. The public classes in
``classifiers.py`` and ``regressor.py`` only say how targets are encoded and
outputs decoded; everything they share lives here.
"""

import copy
import inspect
import math
import os
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from skorch.history import History
from skorch.net import NeuralNet
from skorch.utils import is_dataset, to_tensor
from torch.utils.data import DataLoader, Subset

from . import validation
from .data import DatasetBatches, TensorBatches, prediction_chunks
from .runtime import draw_seed, resolve_device, resolve_n_threads, seeded, torch_threads
from .shapes import reset_parameters, shape_kwargs
from .training.divergence import TrainingDivergedError, divergence_message
from .training.metrics import FrozenPredictions, make_scorers, score_outputs
from .training.monitor import Monitor
from .training.progress import batch_bar, print_epoch
from .training.schedules import make_scheduler, step_scheduler

# "auto" training length: enough optimiser steps for small tables, at least
# MIN_EPOCHS passes over large ones.
TARGET_STEPS = 1000
MIN_EPOCHS, MAX_EPOCHS = 10, 200
AUTO_VALIDATION_FRACTION = 0.1


def _store_params(estimator, params):
    """Store constructor arguments untouched (scikit-learn's convention)."""
    kwargs = params.pop("kwargs", {})
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
    for name, value in kwargs.items():
        setattr(estimator, name, value)
    # skorch checks these names (module__*, optimizer__*, ...) at initialize.
    estimator._params_to_validate = set(kwargs)


class NNEstimatorMixin:
    """Shared machinery of ``NNBinaryClassifier``, ``NNClassifier``, ``NNRegressor``.

    Placed before skorch's net in the method resolution order, it replaces
    the parts of skorch that scikit-learn's conventions rule out (attributes
    set in ``__init__``, components built in ``set_params``, a fixed device)
    and the per-row data path, and adds validation, label encoding, shape
    inference, seeding, weights and training control.
    """

    prefixes_ = NeuralNet.prefixes_ + ["lr_schedule"]

    # Every parameter's valid values, checked once at fit (scikit-learn's way).
    _parameter_constraints = {
        "module": [type, torch.nn.Module],
        "criterion": [type, torch.nn.Module],
        "optimizer": [type, callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            Options(Integral, {-1}),
        ],
        "validation_fraction": [Interval(Real, 0, 1, closed="left"), None],
        "metrics": [list, tuple, dict, str, callable, None],
        "monitor": [str],
        "patience": [Interval(Integral, 0, None, closed="left"), None],
        "min_delta": [Interval(Real, 0, None, closed="left")],
        "restore_best_weights": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
        "lr_schedule": [str, type, None],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "augment": [callable, None],
        "device": [str, torch.device, None],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, tuple, StrOptions({"disable"}), None],
        "train_split": [callable, None],
        "predict_nonlinearity": [callable, StrOptions({"auto"}), None],
        "compile": ["boolean"],
    }

    # skorch internals that read these; they are not parameters here.
    iterator_train = DataLoader
    iterator_valid = DataLoader
    dataset = Dataset
    use_caching = "auto"
    torch_load_kwargs = None

    # -- parameters ---------------------------------------------------------

    def __setattr__(self, name, value):
        # Parameters and private state are plain attributes; skorch's hook
        # registers torch components (module_, optimizer_, ...) as before.
        if name.startswith("_") or name in _signature_names(type(self)):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @property
    def initialized_(self):
        """Whether the module, criterion and optimizer have been built."""
        return self.__dict__.get("_initialized", False)

    @initialized_.setter
    def initialized_(self, value):
        self._initialized = value

    @property
    def virtual_params_(self):
        return self.__dict__.setdefault("_virtual_params", {})

    @virtual_params_.setter
    def virtual_params_(self, value):
        self._virtual_params = value

    def _get_param_names(self):
        routed = [k for k in self.__dict__ if "__" in k and not k.startswith("_")]
        return sorted(_signature_names(type(self))) + sorted(routed)

    def set_params(self, **params):
        """Set parameters; ``module__*``, ``optimizer__*``, ``callbacks__*`` included.

        Before the first fit nothing is built: values are only stored.
        """
        if self.initialized_:
            return super().set_params(**params)
        names = _signature_names(type(self))
        BaseEstimator.set_params(
            self, **{k: v for k, v in params.items() if k in names}
        )
        # Routed (module__*, ...) and unknown names are checked at fit, where
        # skorch suggests the right spelling ("did you mean ...?").
        for key, value in params.items():
            if key not in names:
                setattr(self, key, value)
                self._params_to_validate.add(key)
        return self

    # scikit-learn's repr: the class and the parameters that differ from defaults.
    __repr__ = BaseEstimator.__repr__

    @property
    def _default_callbacks(self):
        # Training control is driven by plain parameters, not default callbacks;
        # user callbacks (skorch's or their own) still run through skorch.
        return []

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags

    # -- fit ----------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, validation_data=None, **fit_params):
        """Train the network on X and y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Training data: arrays of any numeric dtype, DataFrames or lists;
            images as (n_samples, height, width) or (n_samples, channels,
            height, width). A torch ``Dataset`` yielding ``(X, y)`` pairs is
            accepted too (then ``y=None``; labels must already be encoded).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample loss weights; a zero weight removes the row's effect.
        validation_data : tuple, default=None
            ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``
            monitored instead of the internal ``validation_fraction`` split.
            Inside cross-validation prefer ``validation_fraction``: a fixed
            set is not re-split per fold.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        continuing = self.warm_start and self.initialized_
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            validation_data=validation_data,
            fit_params=fit_params,
            reset=not continuing,
            epochs=None,
        )

    def partial_fit(self, X, y, classes=None, sample_weight=None, **fit_params):
        """Train for one pass over the data, continuing from the current weights.

        Parameters
        ----------
        X, y, sample_weight
            As in ``fit``.
        classes : array-like, default=None
            Every class of the problem, required by classifiers' first call
            when ``y`` may not show them all.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : object
        """
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            validation_data=None,
            fit_params=fit_params,
            reset=not self.initialized_,
            epochs=1,
            classes=classes,
        )

    def _fit(
        self,
        X,
        y,
        *,
        sample_weight,
        validation_data,
        fit_params,
        reset,
        epochs,
        classes=None,
    ):
        self._check_setup(validation_data)
        if reset:
            self.device_ = resolve_device(self.device)
        train, valid, metric_weights = self._prepare_data(
            X, y, sample_weight, validation_data, reset=reset, classes=classes
        )
        seed = draw_seed(self.random_state)
        call_seed = _derive_seed(seed, 0 if reset else len(self.history_))
        with (
            torch_threads(resolve_n_threads(self.n_threads)),
            seeded(call_seed, self.device_),
        ):
            if reset:
                self.initialize()
            self._run_training(
                train,
                valid,
                metric_weights,
                epochs=epochs,
                seed=call_seed,
                restore=epochs is None,
                fit_params=fit_params,
            )
        return self

    # -- data ---------------------------------------------------------------

    def _prepare_data(self, X, y, sample_weight, validation_data, *, reset, classes):
        """Validate and encode the data; return (train, valid, metric weights)."""
        if is_dataset(X):
            return self._prepare_dataset(X, y, reset=reset)
        X, y = validation.check_X(
            self, X, y=y, reset=reset, regression=self._regression
        )
        targets = self._encode_target(y, reset=reset, classes=classes)
        weights = self._loss_weights(X, y, targets, sample_weight)
        if reset:
            self._record_shapes(X, targets)
        if validation_data is not None:
            valid, metric_weights = self._external_validation(validation_data)
            return (
                TensorBatches(X, targets, weights, self.device_),
                valid,
                metric_weights,
            )
        fraction = self._validation_fraction()
        if self.train_split is not None and not fraction:
            return self._skorch_split(X, targets)
        if not fraction:
            return TensorBatches(X, targets, weights, self.device_), None, None
        train_rows, valid_rows = self._split_rows(targets, fraction)
        metric_weights = None
        if sample_weight is not None:
            metric_weights = np.asarray(sample_weight, dtype=np.float64)[valid_rows]
        valid = TensorBatches(
            X[valid_rows],
            targets[valid_rows],
            None if weights is None else weights[valid_rows],
            self.device_,
        )
        # Training rows are picked through an index: X itself is not copied.
        train = TensorBatches(X, targets, weights, self.device_, rows=train_rows)
        return train, valid, metric_weights

    def _loss_weights(self, X, y, targets, sample_weight):
        weights = validation.sample_weights(
            self, X, y, sample_weight, getattr(self, "class_weight", None)
        )
        if not self._regression:
            validation.check_weighted_classes(self, targets, weights)
        # Equal weights change nothing: the loop then skips weighting altogether,
        # and sample_weight=None and all-ones give bit-identical fits.
        return None if np.all(weights == weights[0]) else weights

    def _external_validation(self, validation_data):
        if not isinstance(validation_data, tuple | list) or len(
            validation_data
        ) not in (
            2,
            3,
        ):
            raise ValueError(
                "validation_data must be a tuple (X_val, y_val) or "
                "(X_val, y_val, sample_weight_val)."
            )
        X_val, y_val, *rest = validation_data
        weight_val = rest[0] if rest else None
        X_val, y_val = validation.check_X(
            self, X_val, y=y_val, reset=False, regression=self._regression
        )
        targets = self._encode_target(y_val, reset=False, classes=None)
        weights = validation.sample_weights(
            self, X_val, y_val, weight_val, getattr(self, "class_weight", None)
        )
        weights = None if np.all(weights == weights[0]) else weights
        metric_weights = None if weight_val is None else np.asarray(weight_val, float)
        return TensorBatches(X_val, targets, weights, self.device_), metric_weights

    def _validation_fraction(self):
        fraction = self.validation_fraction
        if fraction is None:
            # sklearn's MLP convention: early stopping implies a held-out 10%.
            wants_valid = self._uses_monitor()
            needs_valid = str(self.monitor).startswith("valid_")
            return AUTO_VALIDATION_FRACTION if wants_valid and needs_valid else 0.0
        if not 0.0 <= fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1) or None, got {fraction!r}."
            )
        return fraction

    def _split_rows(self, targets, fraction):
        """Hold out ``fraction`` of the rows, stratified for classifiers."""
        n = len(targets)
        n_valid = math.ceil(fraction * n)
        if n_valid < 1 or n - n_valid < 1:
            raise ValueError(
                f"validation_fraction={fraction} leaves no training or validation "
                f"samples out of {n}; use a larger data set or validation_fraction=0."
            )
        rows = np.arange(n)
        seed = draw_seed(copy.deepcopy(self.random_state))
        stratify = None if self._regression else targets
        try:
            return train_test_split(
                rows, test_size=n_valid, stratify=stratify, random_state=seed
            )
        except ValueError:  # a class too small to stratify: a plain split
            return train_test_split(rows, test_size=n_valid, random_state=seed)

    def _skorch_split(self, X, targets):
        dataset = Dataset(X, targets)
        train_ds, valid_ds = self.train_split(dataset, targets)
        loader_kwargs = self.get_params_for("iterator_train")
        loader_kwargs.pop("batch_size", None)
        return (
            DatasetBatches(train_ds, self.device_, loader_kwargs),
            None if valid_ds is None else DatasetBatches(valid_ds, self.device_),
            None,
        )

    def _prepare_dataset(self, dataset, y, *, reset):
        """skorch's general path: any torch Dataset yielding (X, y) pairs."""
        if y is not None:
            raise ValueError("When X is a torch Dataset, y must be None.")
        if reset:
            first_X, first_y = dataset[0]
            self.input_shape_ = tuple(torch.as_tensor(first_X).shape)
            self.n_features_in_ = self.input_shape_[0]
            self._record_dataset_targets(dataset, torch.as_tensor(first_y))
        fraction = self._validation_fraction()
        loader_kwargs = self.get_params_for("iterator_train")
        loader_kwargs.pop("batch_size", None)
        if not fraction:
            return DatasetBatches(dataset, self.device_, loader_kwargs), None, None
        train_rows, valid_rows = train_test_split(
            np.arange(len(dataset)),
            test_size=fraction,
            random_state=draw_seed(copy.deepcopy(self.random_state)),
        )
        return (
            DatasetBatches(Subset(dataset, train_rows), self.device_, loader_kwargs),
            DatasetBatches(Subset(dataset, valid_rows), self.device_),
            None,
        )

    # -- building the network -----------------------------------------------

    def _module_shapes(self):
        return {
            "n_features": int(np.prod(self.input_shape_)),
            "input_shape": self.input_shape_,
            "n_outputs": self.n_outputs_,
        }

    def initialize_module(self):
        """Build ``module_``, passing the inferred shapes the constructor asks for."""
        kwargs = shape_kwargs(
            self.module, self.get_params_for("module"), self._module_shapes()
        )
        if isinstance(self.module, torch.nn.Module):
            if self.get_params_for("module"):
                module = type(self.module)(**kwargs)
            else:
                # A fresh copy with re-drawn weights, so random_state governs
                # initialisation and refits start from scratch.
                module = copy.deepcopy(self.module)
                reset_parameters(module)
        else:
            module = self.module(**kwargs)
        self.module_ = module
        return self

    def _initialize_module(self, reason=None):
        with self._current_init_context("module"):
            self.initialize_module()
            module = self.module_.to(self.device_)
            self.module_ = self.torch_compile(module, name="module")
        return self

    def initialize_criterion(self):
        """Build ``criterion_`` with per-sample losses, so weights can apply."""
        kwargs = self.get_params_for("criterion")
        criterion = self.criterion
        if isinstance(criterion, torch.nn.Module):
            criterion = (
                type(criterion)(**kwargs) if kwargs else copy.deepcopy(criterion)
            )
            if hasattr(criterion, "reduction"):
                criterion.reduction = "none"
        else:
            accepted = inspect.signature(criterion).parameters
            if "reduction" in accepted and "reduction" not in kwargs:
                kwargs["reduction"] = "none"
            criterion = criterion(**kwargs)
        self.criterion_ = criterion
        return self

    def _initialize_criterion(self, reason=None):
        with self._current_init_context("criterion"):
            self.initialize_criterion()
            if isinstance(self.criterion_, torch.nn.Module):
                self.criterion_ = self.criterion_.to(self.device_)
        return self

    def initialize_optimizer(self, triggered_directly=None):
        """Build ``optimizer_``, with fused or foreach kernels where torch has them."""
        named_parameters = list(self.get_all_learnable_params())
        args, kwargs = self.get_params_for_optimizer("optimizer", named_parameters)
        self.optimizer_ = _fast_optimizer(self.optimizer, args, kwargs)
        self.lr_scheduler_ = None  # a schedule belongs to one optimizer
        return self

    def initialize_history(self):
        """Start an empty history."""
        self.history_ = History()
        return self

    def infer(self, x, **fit_params):
        """Run the module on one batch (on ``device_``)."""
        if isinstance(x, torch.Tensor):  # batches are already on device_
            return self.module_(x, **fit_params)
        x = to_tensor(x, device=self.device_)
        if isinstance(x, dict):
            return self.module_(**self._merge_x_and_fit_params(x, fit_params))
        return self.module_(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False, sample_weight=None):
        """Weighted mean of the per-sample losses of one batch."""
        if not isinstance(y_true, torch.Tensor):
            y_true = to_tensor(y_true, device=self.device_)
        if y_pred.shape != y_true.shape and y_pred.numel() == y_true.numel():
            y_pred = y_pred.reshape(y_true.shape)
        losses = self.criterion_(y_pred, y_true)
        if losses.dim() == 0:
            return losses
        if losses.dim() > 1:
            losses = losses.reshape(len(losses), -1).mean(dim=1)
        if sample_weight is None:
            return losses.mean()
        total = sample_weight.sum().clamp_min(torch.finfo(losses.dtype).tiny)
        return (losses * sample_weight).sum() / total

    # -- training -----------------------------------------------------------

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
        for batch_index, (Xb, yb, wb) in enumerate(
            train.batches(batch_size, permutation), start=1
        ):
            if hooks:
                self.notify("on_batch_begin", batch=(Xb, yb), training=True)
            loss, y_pred = self._train_step(Xb, yb, wb, hooks, fit_params)
            batch_weight = len(yb) if wb is None else wb.sum()
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
            for Xb, yb, wb in valid.batches(self._predict_batch_size()):
                if hooks:
                    self.notify("on_batch_begin", batch=(Xb, yb), training=False)
                y_pred = _first(self.infer(Xb, **fit_params))
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

    def _check_setup(self, validation_data):
        """Parameter mistakes fail before any data is touched."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        self._check_routed_names()
        has_validation = (
            validation_data is not None
            or self._validation_fraction() > 0
            or self.train_split is not None
        )
        watches_validation = str(self.monitor).startswith("valid_")
        if self._uses_monitor() and watches_validation and not has_validation:
            raise ValueError(
                f"patience, checkpoint_dir and lr_schedule='plateau' watch "
                f"monitor={self.monitor!r}, which needs validation data: set "
                "validation_fraction (e.g. 0.1), pass fit(..., validation_data="
                "(X_val, y_val)), or monitor='train_loss'."
            )

    def _uses_monitor(self):
        """Whether early stopping, checkpoints or a plateau schedule need monitor."""
        return (
            self.patience is not None
            or self.checkpoint_dir is not None
            or self.lr_schedule == "plateau"
        )

    def _check_routed_names(self):
        # skorch checks these at initialize, after the data; the same words, earlier.
        prefixes = sorted(
            set(self.prefixes_) | {"module", "criterion", "optimizer"}, key=len
        )[::-1]
        for key in sorted(self._params_to_validate):
            prefix = next((p for p in prefixes if key.startswith(p)), None)
            if prefix is None:
                raise ValueError(
                    f"__init__() got unexpected argument(s) {key}. Either you made "
                    "a typo, or it is not a parameter of "
                    f"{type(self).__name__}."
                )
            if not key.startswith(prefix + "__"):
                suffix = key[len(prefix) :].lstrip("_")
                raise ValueError(
                    f"Got an unexpected argument {key}, did you mean "
                    f"{prefix}__{suffix}?"
                )

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

    def _predict_batch_size(self):
        return 4096

    def _write_checkpoint(self):
        from .checkpoints import write_checkpoint

        self.checkpoint_path_ = write_checkpoint(
            self, self.checkpoint_dir, getattr(self, "checkpoint_path_", None)
        )

    def get_iterator(self, dataset, training=False):
        """A ``DataLoader`` for skorch's own helpers (``forward`` on a Dataset)."""
        batch_size = self.batch_size if isinstance(self.batch_size, int) else 256
        return DataLoader(dataset, batch_size=batch_size, shuffle=False)

    # -- prediction ---------------------------------------------------------

    def _raw_outputs(self, X):
        """Validated X through the network in bounded chunks; a CPU tensor."""
        check_is_fitted(self)
        if is_dataset(X):  # skorch's general path (and its callbacks' caching)
            outputs = self.forward_iter(X, device="cpu")
            return torch.cat([_first(y).detach().float().cpu() for y in outputs])
        X = validation.check_X(self, X, reset=False)
        self._set_training(False)
        outputs = []
        with torch_threads(resolve_n_threads(self.n_threads)), torch.inference_mode():
            for chunk in prediction_chunks(X, self.device_):
                outputs.append(_first(self.infer(chunk)).float().cpu())
        return torch.cat(outputs)

    def history_frame(self):
        """Return the training history as a DataFrame, one row per epoch.

        Columns: ``epoch``, ``train_loss``, ``valid_loss`` (with validation
        data), ``valid_<metric>`` for each metric, ``<monitor>_best``,
        ``lr`` and ``dur`` (seconds).
        """
        import pandas as pd

        check_is_fitted(self)
        rows = [
            {
                k: v
                for k, v in row.items()
                if k != "batches" and not k.endswith("_count")
            }
            for row in self.history_
        ]
        return pd.DataFrame(rows)

    # -- persistence --------------------------------------------------------

    def __setstate__(self, state):
        # skorch maps saved tensors to state["device"]; point it at the device
        # actually used, which falls back to the CPU on a machine without it.
        requested = state.get("device")
        state["device"] = state.get("device_", "cpu")  # unfitted: nothing to map
        super().__setstate__(state)
        if "device_" in state:
            object.__setattr__(self, "device_", str(self.device))
        object.__setattr__(self, "device", requested)

    @classmethod
    def from_checkpoint(cls, path, **params):
        """Load a fitted estimator from a checkpoint folder.

        Parameters
        ----------
        path : str or path-like
            A fit's checkpoint folder (``checkpoint_path_``), or a
            ``checkpoint_dir`` holding exactly one fit.
        **params
            Parameters that could not be saved as plain data (a lambda
            ``augment``, say), passed again.

        Returns
        -------
        estimator : object
            A fitted estimator with the checkpoint's weights.
        """
        from .checkpoints import load_checkpoint

        return load_checkpoint(cls, path, **params)


def _signature_names(cls):
    cached = cls.__dict__.get("_signature_cache")
    if cached is None:
        parameters = inspect.signature(cls.__init__).parameters
        cached = frozenset(
            name
            for name, p in parameters.items()
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )
        type.__setattr__(cls, "_signature_cache", cached)
    return cached


def _derive_seed(seed, epochs_done):
    # Continued training (partial_fit, warm_start) gets fresh but reproducible
    # batches and dropout masks.
    if epochs_done == 0:
        return seed
    return int(np.random.SeedSequence([seed, epochs_done]).generate_state(1)[0])


def _fast_optimizer(optimizer, args, kwargs):
    accepted = inspect.signature(optimizer).parameters
    if "fused" in accepted and "fused" not in kwargs and "foreach" not in kwargs:
        try:
            return optimizer(*args, fused=True, **kwargs)
        except (RuntimeError, ValueError, TypeError):
            return optimizer(*args, foreach=True, **kwargs)
    return optimizer(*args, **kwargs)


def _copy_state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _first(output):
    return output[0] if isinstance(output, tuple) else output
