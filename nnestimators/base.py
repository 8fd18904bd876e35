"""The adapter that makes skorch's nets behave as scikit-learn estimators.

Data flows one way: validate -> encode -> datasets (``preparation.py``) ->
skorch's training loop fed by the fast path (``training/loop.py``), with
training control as callbacks (``training/callbacks.py``) -> history and
checkpoints -> decoded predictions. The public classes in
``classifiers.py`` and ``regressor.py`` only say how targets are encoded and
outputs decoded; parameter storage is in ``parameters.py``.
"""

import contextlib
import copy
import inspect
import os
from numbers import Integral, Real

import numpy as np
import sklearn
import torch
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metadata_routing import process_routing
from sklearn.utils.validation import check_is_fitted
from skorch.dataset import Dataset
from skorch.net import NeuralNet
from skorch.utils import is_dataset
from torch.utils.data import DataLoader

from . import validation
from .data import (
    EMBEDDINGS,
    first_output,
    indexed_device,
    net_layers,
    prediction_chunks,
    prediction_rows,
)
from .mlp_attributes import MLPAttributesMixin
from .parameters import ParametersMixin, store_params
from .preparation import DataPreparation
from .runtime import draw_seed, resolve_device, resolve_n_threads, seeded, torch_threads
from .shapes import shape_kwargs
from .training.checks import check_training_setup
from .training.history import TrainingHistory
from .training.loop import TrainingLoop
from .training.outputs import recognise
from .training.sklearn_callbacks import CallbackSupportMixin, fit_task
from .training.skorch_callbacks import is_alias

_store_params = store_params  # the estimators' __init__ use this name


class NNEstimatorMixin(
    MLPAttributesMixin,
    CallbackSupportMixin,
    ParametersMixin,
    DataPreparation,
    TrainingLoop,
):
    """Shared machinery of ``NNBinaryClassifier``, ``NNClassifier``, ``NNRegressor``.

    Placed before skorch's net in the method resolution order, it keeps
    skorch's loop and callbacks and replaces what scikit-learn's conventions
    rule out (attributes set in ``__init__``, a fixed device, unchecked
    input), adding validation, label encoding, shape inference, seeding and
    sample weights.
    """

    prefixes_ = NeuralNet.prefixes_ + ["lr_schedule"]

    # Every parameter's valid values, checked once at fit (scikit-learn's way).
    _parameter_constraints = {
        "module": [type, torch.nn.Module, callable],
        "criterion": [type, torch.nn.Module, callable],
        "optimizer": [type, callable],
        "lr": [Interval(Real, 0, None, closed="left")],
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
        "n_threads": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "partial_fit_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"max_epochs"}),
        ],
        "callbacks": [list, tuple, StrOptions({"disable"}), None],
        "train_split": [callable, None, Options(bool, {False})],
        "predict_nonlinearity": [callable, StrOptions({"auto"}), None],
        "compile": ["boolean"],
    }

    # skorch parameters with skorch's defaults, unless given as keywords.
    iterator_train = DataLoader
    iterator_valid = DataLoader
    dataset = Dataset
    use_caching = "auto"
    torch_load_kwargs = None
    classes = None

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

    # scikit-learn's repr: the class and the parameters that differ from defaults.
    def __repr__(self):
        from sklearn.base import BaseEstimator

        return BaseEstimator.__repr__(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags

    # -- fit ----------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None, validation_data=None, **fit_params):
        """Train the network on X and y.

        Parameters
        ----------
        X : array-like, sparse matrix, dict of arrays or Dataset
            Training data: arrays of any numeric dtype, DataFrames, lists or
            CSR/CSC matrices (densified batch by batch); images as
            (n_samples, height, width) or (n_samples, channels, height,
            width); a dict of arrays for a module whose ``forward`` takes
            keyword arguments. A torch ``Dataset`` yielding ``(X, y)`` pairs
            is accepted too (then ``y=None``; labels must already be
            encoded). X's dtype follows the module, at fit as at predict:
            numeric X becomes the dtype of the module's floating parameters
            (float32; float64 for a float64 module, as made by
            ``.double()``), except integer X for a module holding an
            ``nn.Embedding`` or ``nn.EmbeddingBag``, which stays integer
            (int64 token ids). A dict of arrays keeps its dtypes.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: labels, a multilabel indicator matrix (classifier) or
            values (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample loss weights; a zero weight removes the row's effect.
        validation_data : tuple, default=None
            ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``
            monitored instead of the internal ``validation_fraction`` split.
            Inside cross-validation prefer ``validation_fraction``: a fixed
            set is not re-split per fold.
        **fit_params : dict
            Passed to the module's ``forward``, except ``epochs=n``, which
            trains ``n`` epochs instead of ``max_epochs`` (skorch's
            ``fit(X, y, epochs=n)``).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        # skorch's rule: warm_start continues an initialized net (one built by
        # initialize() too, whose data state the first fit then records).
        continuing = self.warm_start and self.initialized_
        # skorch's fit(X, y, epochs=n) trains n epochs instead of max_epochs.
        epochs = _epoch_count(fit_params.pop("epochs", None))
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            validation_data=validation_data,
            fit_params=fit_params,
            reset=not continuing,
            epochs=epochs,
            kind="fit",
        )

    def partial_fit(
        self, X, y=None, classes=None, sample_weight=None, epochs=None, **fit_params
    ):
        """Train for ``epochs`` passes over the data (one by default), continuing.

        Parameters
        ----------
        X, y, sample_weight
            As in ``fit``.
        classes : array-like, default=None
            Every class of the problem, required by classifiers' first call
            when ``y`` may not show them all; later calls must give the same.
        epochs : int, default=None
            Passes over the data; None trains ``partial_fit_epochs`` (one by
            default, scikit-learn's convention; ``"max_epochs"`` is
            skorch's). 0 builds the network for the data without training,
            as skorch's ``fit_loop(X, y, epochs=0)``.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : object
        """
        epochs = _epoch_count(epochs)
        if "validation_data" in fit_params:
            raise TypeError(
                "partial_fit takes no validation_data (its fit_params go to the "
                "module's forward); set validation_fraction, or use fit."
            )
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            validation_data=None,
            fit_params=fit_params,
            reset=not self.initialized_,
            epochs=epochs,
            kind="partial_fit",
            classes=classes,
        )

    def _has_data_state(self):
        return "_n_outputs" in self.__dict__ or hasattr(self, "n_outputs_")

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
        kind,
        classes=None,
    ):
        self._check_setup(validation_data)
        self._fit_kind = kind
        if kind == "partial_fit" and epochs is None:
            # "max_epochs": as many as fit trains (skorch's partial_fit).
            setting = self.partial_fit_epochs
            epochs = None if setting == "max_epochs" else int(setting)
        if sklearn.get_config()["enable_metadata_routing"]:
            # Metadata nothing requested fails before any data is read.
            process_routing(self, self._fit_kind, **fit_params)
        data_reset = reset or not self._has_data_state()
        if not data_reset:
            self._check_same_classes(classes)
        if reset or "device_" not in self.__dict__:
            self.device_ = resolve_device(self.device)
        dataset = self._prepare_data(
            X, y, sample_weight, reset=data_reset, classes=classes
        )
        self._fit_validation = (
            None
            if validation_data is None
            else self._validation_dataset(validation_data)
        )
        seed = draw_seed(self.random_state)
        previous = 0 if reset else len(getattr(self, "history_", None) or [])
        call_seed = _derive_seed(seed, previous)
        n_train = self._expected_training_rows(len(dataset))
        batch_size = self._resolved_batch_size(n_train, training=True)
        if batch_size == -1:
            batch_size = n_train
        # A schedule spans max_epochs, whatever one partial_fit call trains;
        # fit(X, y, epochs=n) trains and schedules n.
        schedule_epochs = self._max_epochs(n_train, batch_size)
        if kind == "fit" and epochs is not None:
            schedule_epochs = epochs
        if epochs is None:
            epochs = schedule_epochs
        with seeded(call_seed, self.device_), self._resolved_device():
            if reset or not self.initialized_:
                self.initialize()
                self.best_epoch_ = None
            # X validated above takes the dtype of the module built now, once.
            dataset = self._finish_dataset(dataset)
            self._fit_validation = self._finish_dataset(self._fit_validation)
            self._begin_training(call_seed, batch_size, n_train, epochs)
            self._schedule_epochs = schedule_epochs
            try:
                with (
                    torch_threads(self._thread_count(batch_size, training=True)),
                    fit_task(self, X, y, epochs),
                ):
                    self._train(X, y, dataset, epochs, fit_params)
            finally:
                self._end_training()
        return self

    def _expected_training_rows(self, n_rows):
        if self.__dict__.get("_fit_validation") is not None:
            return n_rows
        fraction = self._validation_fraction(n_rows)
        return max(1, n_rows - int(np.ceil(fraction * n_rows)))

    def _begin_training(self, seed, batch_size, n_train, epochs):
        self._stop_requested = False
        self._shuffle_generator = torch.Generator().manual_seed(seed)
        self._train_batch_size = batch_size
        self._planned_epochs = epochs
        self._final_epoch = len(self.history_) + epochs
        # partial_fit never restores: the next call continues from here.
        self._restore_at_end = self._fit_kind == "fit"
        self._fitting_batch_sizes = {
            # -1 stays -1: the iterator takes the length of the training
            # split, which a train_split decides later (skorch's reading).
            "iterator_train": -1 if self.batch_size == -1 else batch_size,
            "iterator_valid": self._resolved_batch_size(n_train, training=False),
        }

    def _end_training(self):
        self.__dict__.pop("_loss_input", None)  # decided again at the next call
        self._fitting_batch_sizes = None
        self._fit_validation = None
        self._shuffle_generator = None
        self._batch_state = None

    def _thread_count(self, batch_size, training):
        """Torch threads for this work: ``n_threads``, or the ``"auto"`` rule."""
        return resolve_n_threads(
            self.n_threads,
            module=getattr(self, "module_", None),
            input_shape=getattr(self, "input_shape_", None),
            batch_size=batch_size,
            device=self.device_,
            training=training,
        )

    def _check_same_classes(self, classes):
        if classes is None or self._regression:
            return
        known = getattr(self, "classes_", None)
        given = np.unique(classes)
        if known is not None and not np.array_equal(given, known):
            raise ValueError(
                f"classes={given.tolist()!r} is not the same as on the first call "
                f"to partial_fit, which was {np.asarray(known).tolist()!r}."
            )

    # -- building the network -----------------------------------------------

    def initialize(self):
        """Build callbacks, module, criterion and optimizer (skorch's ``initialize``).

        Before ``fit`` the module gets only the shapes given as ``module__*``
        arguments, so ``initialize(); load_params(...)`` restores a net.
        """
        self.device_ = resolve_device(self.device)
        with self._resolved_device():
            super().initialize()  # ends with skorch's name check (_validate_params)
        return self

    def _builds_own_components(self):
        """Whether a user's subclass builds modules, criteria or optimizers."""
        for name in (
            "initialize_module",
            "initialize_criterion",
            "initialize_optimizer",
        ):
            owner = next(k for k in type(self).__mro__ if name in vars(k))
            if not owner.__module__.startswith("nnestimators."):
                return True
        return False

    def _module_shapes(self):
        shapes = {}
        input_shape = getattr(self, "input_shape_", None)
        if input_shape is not None:
            shapes["n_features"] = int(np.prod(input_shape))
            shapes["input_shape"] = input_shape
        if hasattr(self, "n_outputs_"):
            shapes["n_outputs"] = self.n_outputs_
        return shapes

    def initialize_module(self):
        """Build ``module_``, passing the inferred shapes the constructor asks for."""
        user_kwargs = self.get_params_for("module")
        kwargs = shape_kwargs(self.module, user_kwargs, self._module_shapes())
        if isinstance(self.module, torch.nn.Module):
            if user_kwargs:
                module = type(self.module)(**kwargs)
            else:
                # A copy: every fit starts from the instance's own weights (a
                # pretrained network is fine-tuned), and the instance, a
                # parameter, is never trained.
                module = copy.deepcopy(self.module)
        else:
            try:
                module = self.module(**kwargs)
            except TypeError as exc:
                raise _missing_shape_error(self, exc) from exc
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                f"module must be a torch.nn.Module class or a callable returning "
                f"a module; {self.module!r} returned {type(module).__name__}."
            )
        self.module_ = module
        return self

    def _announce_reinit(self, kind, names, reason):
        # skorch's message on re-initializing built components (verbose only).
        kwargs = {}
        for name in names:
            kwargs.update(self.get_params_for(name))
        built = any(
            isinstance(self.__dict__.get(name + "_"), torch.nn.Module) for name in names
        )
        if (kwargs or reason or built) and self.initialized_ and self.verbose:
            print(reason or self._format_reinit_msg(kind, kwargs))

    def _place_components(self, names):
        # skorch's step after building: each component to the device, compiled.
        for name in names:
            component = getattr(self, name + "_")
            if isinstance(component, torch.nn.Module):
                component = component.to(self.device_)
                setattr(self, name + "_", self.torch_compile(component, name=name))

    def _initialize_module(self, reason=None):
        if "device_" not in self.__dict__:  # called on its own, before initialize
            self.device_ = resolve_device(self.device)
        if self.initialized_:
            self._forget_outputs()  # a new module's outputs are read anew
        with self._current_init_context("module"):
            self._announce_reinit("module", self._modules, reason)
            self.initialize_module()
            self._place_components(self._modules)
        return self

    def initialize_criterion(self):
        """Build ``criterion_`` as skorch does, with the reduction it reports.

        ``get_loss`` asks a ``"mean"`` criterion for per-sample losses only
        when there are weights to apply.
        """
        kwargs = self.get_params_for("criterion")
        criterion = self.criterion
        if isinstance(criterion, torch.nn.Module):
            criterion = (
                type(criterion)(**kwargs) if kwargs else copy.deepcopy(criterion)
            )
        elif not _is_loss_function(criterion):  # a function is used as it is
            criterion = criterion(**kwargs)
        self.criterion_ = criterion
        # skorch's sample-weight recipe: criterion__reduction="none" and a
        # get_loss override that weights what super().get_loss returns.
        self._user_weights_losses = (
            self.get_params_for("criterion").get("reduction") == "none"
            and type(self).get_loss is not TrainingLoop.get_loss
        )
        return self

    def _initialize_criterion(self, reason=None):
        if "device_" not in self.__dict__:
            self.device_ = resolve_device(self.device)
        self.__dict__.pop("_loss_input", None)  # decided for the criterion built
        with self._current_init_context("criterion"):
            self._announce_reinit("criterion", self._criteria, reason)
            self.initialize_criterion()
            self._place_components(self._criteria)
        return self

    def initialize_optimizer(self, triggered_directly=None):
        """Build ``optimizer_``, with fused or foreach kernels where torch has them."""
        named_parameters = list(self.get_all_learnable_params())
        args, kwargs = self.get_params_for_optimizer("optimizer", named_parameters)
        if _has_sparse_gradients(self):
            # Fused and foreach kernels refuse sparse gradients (at step()).
            self.optimizer_ = self.optimizer(*args, **kwargs)
        else:
            self.optimizer_ = _fast_optimizer(self.optimizer, args, kwargs)
        self.lr_scheduler_ = None  # a schedule belongs to one optimizer
        return self

    def initialize_history(self):
        """Start an empty history (skorch's, with cheap per-batch writes).

        A history given as ``history=`` (skorch's way) is cleared and kept.
        """
        given = self.__dict__.get("history_")
        if given is not None and type(given) is not TrainingHistory:
            given.clear()
        else:
            self.history_ = TrainingHistory()
        return self

    @property
    def _torch_device(self):
        device = self.__dict__.get("_device_cache")
        if device is None or device[0] != self.device_:
            device = (self.device_, indexed_device(self.device_))
            self._device_cache = device
        return device[1]

    # -- checks --------------------------------------------------------------

    def _check_setup(self, validation_data):
        """Parameter mistakes fail before any data is touched."""
        self.check_training_readiness()  # skorch's: a net trimmed for prediction
        validate_parameter_constraints(
            self._parameter_constraints,
            {
                k: v
                for k, v in self.get_params(deep=False).items()
                if k in self._parameter_constraints
            },
            caller_name=type(self).__name__,
        )
        if not self._builds_own_components():
            # Otherwise skorch's order: after initialize has registered them.
            self._check_param_names()
        check_training_setup(self, validation_data)

    def _default_metrics(self):
        return []

    def _monitor_key(self):
        from .training.monitor import canonical_key

        return canonical_key(self.monitor)

    # -- prediction ---------------------------------------------------------

    def _raw_outputs(self, X):
        """Validated X through the network in bounded chunks; a CPU tensor."""
        with self._resolved_device():
            return self._raw_outputs_on_device(X)

    def _raw_outputs_on_device(self, X):
        self.check_is_fitted()  # skorch's NotInitializedError, a NotFittedError
        self._get_predict_nonlinearity()  # skorch's TypeError before any work
        if is_dataset(X):  # skorch's general path (and its callbacks' caching)
            return self._dataset_outputs(X)
        X = validation.check_X(self, X, reset=False, dtype=self._input_dtype())
        if self._uses_custom_dataset() or self._prediction_hooks_overridden():
            # Rows reach the network as skorch sends them: through the user's
            # dataset, or through the user's overrides of skorch's steps.
            return self._dataset_outputs(X)  # forward_iter calls get_dataset
        self._set_training(False)
        self._recognise_outputs_before_predicting(X)
        outputs = []
        rows = prediction_rows(X) if not isinstance(X, dict) else len(X)
        with (
            torch_threads(self._thread_count(rows, training=False)),
            torch.inference_mode(),
        ):
            for chunk, n_rows in _chunks(X, self.device_):
                output = first_output(self.infer(chunk))[:n_rows]
                outputs.append(output.float().cpu())
        return torch.cat(outputs)

    def _recognise_outputs_before_predicting(self, X):
        """Read what the module returns from one row's graph, where no fit did.

        A net restored with ``initialize(); load_params(...)`` has seen no
        training batch; one row through the module with gradients on shows
        its last operation (softmax, sigmoid, ...), once.
        """
        if (
            not self._recognises_outputs
            or "module_outputs_" in self.__dict__
            or self.predict_nonlinearity != "auto"
        ):
            return
        first = (
            {key: value[:1] for key, value in X.items()}
            if isinstance(X, dict)
            else X[:1]
        )
        chunk, n_rows = next(_chunks(first, self.device_))
        if isinstance(chunk, torch.Tensor) and chunk.is_floating_point():
            chunk = chunk.detach().requires_grad_(True)  # a graph even if frozen
        with torch.enable_grad():
            output = first_output(self.infer(chunk))
        kind, _ = recognise(output[:n_rows], self._independent_outputs())
        if kind is not None:
            self.module_outputs_ = kind

    def _prediction_hooks_overridden(self):
        """A subclass (or the instance) replaces a step of skorch's prediction.

        Arrays are otherwise predicted in fixed chunks straight through
        ``infer``; skorch predicts through ``forward_iter``, ``get_dataset``,
        ``get_iterator`` and ``evaluation_step``, which its users override.
        """
        return any(
            name in self.__dict__ or not _library_code(type(self), name)
            for name in _PREDICTION_HOOKS
        )

    def _dataset_outputs(self, data):
        outputs = self.forward_iter(data, device="cpu")
        return torch.cat([first_output(y).detach().float().cpu() for y in outputs])

    def trim_for_prediction(self):
        """skorch's ``trim_for_prediction``; predictions stay what they were.

        skorch removes the criterion, from which ``predict_nonlinearity="auto"``
        is read: the nonlinearity it gave is kept for the trimmed net.
        """
        if not self.__dict__.get("_trimmed_for_prediction"):
            self.check_is_fitted()
            self._trimmed_nonlinearity = super()._get_predict_nonlinearity()
        return super().trim_for_prediction()

    def _get_predict_nonlinearity(self):
        trimmed = self.__dict__.get("_trimmed_nonlinearity")
        if trimmed is not None and self.predict_nonlinearity == "auto":
            return trimmed
        return super()._get_predict_nonlinearity()

    def __sklearn_is_fitted__(self):
        # skorch's restore workflow, initialize() then load_params(), counts.
        return self.initialized_

    def history_frame(self):
        """Return the training history as a DataFrame, one row per epoch.

        Columns: ``epoch``, ``train_loss``, ``valid_loss`` (with validation
        data), ``train_<metric>`` and ``valid_<metric>`` for each metric,
        ``<key>_best``, ``lr`` and ``dur`` (seconds). skorch's ``valid_acc``,
        which repeats ``valid_accuracy`` in ``history_``, is left out.
        """
        import pandas as pd

        check_is_fitted(self)
        rows = [
            {
                k: v
                for k, v in row.items()
                if k != "batches" and not k.endswith("_count") and not is_alias(k, row)
            }
            for row in self.history_
        ]
        return pd.DataFrame(rows)

    # -- persistence --------------------------------------------------------

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``; any ``device``, ``"auto"`` included.

        As in skorch, the net must be initialized (``initialize()``) or fitted.
        """
        with self._resolved_device():
            return super().load_params(*args, **kwargs)

    def save_params(self, *args, **kwargs):
        """skorch's ``save_params``; any ``device``, ``"auto"`` included."""
        with self._resolved_device():
            return super().save_params(*args, **kwargs)

    @contextlib.contextmanager
    def _resolved_device(self):
        # skorch (and a skorch user's override: to_tensor(x, device=self.device))
        # reads the device parameter as a torch device; "auto" is not one. While
        # the net works, it reads what "auto" resolved to.
        # get_params, clone and pickling still see the parameter as given.
        if "_requested_device" in self.__dict__:
            yield  # already resolved by an enclosing call
            return
        requested = self.device
        self.__dict__["_requested_device"] = requested
        self.__dict__["device"] = self.__dict__.get("device_") or resolve_device(
            requested
        )
        try:
            yield
        finally:
            self.__dict__["device"] = requested
            del self.__dict__["_requested_device"]

    def __getstate__(self):
        state = super().__getstate__()
        # Derived per fit; it holds references to callbacks_ as they were.
        state.pop("_hook_callbacks", None)
        state.pop("_loss_input", None)
        if "_requested_device" in state:  # pickled during fit (a callback)
            state["device"] = state.pop("_requested_device")
        return state

    def __setstate__(self, state):
        # skorch maps saved tensors to state["device"]; point it at the device
        # actually used, which falls back to the CPU on a machine without it.
        # device=None keeps skorch's path: a DeviceWarning, then the CPU.
        requested = state.get("device")
        if requested is not None:
            state["device"] = state.get("device_", "cpu")  # unfitted: nothing to map
        super().__setstate__(state)
        if "device_" in state:
            object.__setattr__(self, "device_", str(self.device))
        object.__setattr__(self, "device", requested)

    def _write_checkpoint(self, checkpoint_dir):
        from .checkpoints import write_checkpoint

        self.checkpoint_path_ = write_checkpoint(
            self, checkpoint_dir, getattr(self, "checkpoint_path_", None)
        )

    @classmethod
    def from_checkpoint(cls, path, *, trusted=None, **params):
        """Load a fitted estimator from a checkpoint folder.

        Loading imports and calls nothing the caller did not trust: see
        ``nnestimators.checkpoints`` for the trust model.

        Parameters
        ----------
        path : str or path-like
            A fit's checkpoint folder (``checkpoint_path_``), or a
            ``checkpoint_dir`` holding exactly one fit.
        trusted : list of classes, default=None
            Your own classes (a module, say) the checkpoint may name, besides
            the built-in allow-list of torch and nnestimators classes.
        **params
            Parameters overriding the saved ones (and trusted with them);
            required for those that could not be saved as plain data.

        Returns
        -------
        estimator : object
            A fitted estimator with the checkpoint's weights.
        """
        from .checkpoints import load_checkpoint

        return load_checkpoint(cls, path, trusted=trusted, **params)


_PREDICTION_HOOKS = ("forward_iter", "get_dataset", "get_iterator", "evaluation_step")


def _library_code(cls, name):
    """Whether ``cls.name`` is defined by skorch or nnestimators."""
    owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
    module = getattr(owner, "__module__", "") or ""
    return module.split(".")[0] in {"skorch", "nnestimators"}


def _chunks(X, device):
    if isinstance(X, dict):
        n = len(next(iter(X.values())))
        step = 65536
        for start in range(0, n, step):
            chunk = {
                key: torch.as_tensor(value[start : start + step]).to(device)
                for key, value in X.items()
            }
            yield chunk, len(next(iter(chunk.values())))
        return
    yield from prediction_chunks(X, device)


def _missing_shape_error(estimator, exc):
    return TypeError(
        f"Could not build the module {estimator.module!r}: {exc}. Before fit, "
        "the shapes inferred from the data (n_features, input_shape, "
        "n_outputs) are unknown: pass them as module__<name>=... or call fit."
    )


def _accepted_arguments(factory):
    try:
        return inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}


def _is_loss_function(criterion):
    if isinstance(criterion, type) or not inspect.isfunction(criterion):
        return False
    required = [
        p
        for p in _accepted_arguments(criterion).values()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) >= 2


def _epoch_count(epochs):
    """None (the estimator decides), or a number of epochs; 0 trains nothing,
    as skorch's fit_loop(epochs=0) (which builds the net for its data)."""
    if epochs is None:
        return None
    if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}.")
    return int(epochs)


def _derive_seed(seed, epochs_done):
    # Continued training (partial_fit, warm_start) gets fresh but reproducible
    # batches and dropout masks.
    if epochs_done == 0:
        return seed
    return int(np.random.SeedSequence([seed, epochs_done]).generate_state(1)[0])


def _has_sparse_gradients(net):
    """Whether a module has an embedding with ``sparse=True``."""
    return any(
        isinstance(layer, EMBEDDINGS) and layer.sparse for layer in net_layers(net)
    )


def _fast_optimizer(optimizer, args, kwargs):
    accepted = _accepted_arguments(optimizer)
    if "fused" in accepted and "fused" not in kwargs and "foreach" not in kwargs:
        try:
            return optimizer(*args, fused=True, **kwargs)
        except (RuntimeError, ValueError, TypeError):
            return optimizer(*args, foreach=True, **kwargs)
    return optimizer(*args, **kwargs)
