"""The adapter that makes skorch's nets behave as scikit-learn estimators.

Data flows one way: validate -> encode -> tensors (``preparation.py``) ->
training loop (``training/loop.py``) -> history/checkpoints -> decoded
predictions. The public classes in ``classifiers.py`` and ``regressor.py``
only say how targets are encoded and outputs decoded; this module holds the
scikit-learn conventions, building the network, and prediction.
"""

import copy
import inspect
import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted
from skorch.dataset import Dataset
from skorch.history import History
from skorch.net import NeuralNet
from skorch.utils import is_dataset, to_tensor
from torch.utils.data import DataLoader

from . import validation
from .data import first_output, prediction_chunks
from .preparation import DataPreparation
from .runtime import draw_seed, resolve_device, resolve_n_threads, seeded, torch_threads
from .shapes import reset_parameters, shape_kwargs
from .training.loop import TrainingLoop


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


class NNEstimatorMixin(DataPreparation, TrainingLoop):
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
        names = _signature_names(type(self))
        # Parameters of a parameter that is itself an estimator-like object
        # (augment__max_shift, say) go to that object, as scikit-learn does.
        nested = {k: v for k, v in params.items() if self._is_nested(k, names)}
        BaseEstimator.set_params(self, **nested)
        params = {k: v for k, v in params.items() if k not in nested}
        if self.initialized_:
            return super().set_params(**params)
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

    def _is_nested(self, key, names):
        owner = key.split("__", 1)[0]
        if "__" not in key or owner not in names:
            return False
        value = getattr(self, owner, None)
        return hasattr(value, "set_params") and not isinstance(value, type)

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

    # -- checks --------------------------------------------------------------

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
            return torch.cat([first_output(y).detach().float().cpu() for y in outputs])
        X = validation.check_X(self, X, reset=False)
        self._set_training(False)
        outputs = []
        with torch_threads(resolve_n_threads(self.n_threads)), torch.inference_mode():
            for chunk in prediction_chunks(X, self.device_):
                outputs.append(first_output(self.infer(chunk)).float().cpu())
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
