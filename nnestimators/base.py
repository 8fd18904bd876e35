"""The one adapter that makes skorch's nets behave as scikit-learn estimators.

A fit flows one way: the settings are checked; the data is validated and
encoded by the estimator's ``target_`` (``preparation``); one
``FitSession`` holds what the call decided (``session``); the network is
built (``building``) and trained by skorch's loop (``training/loop.py``),
with the training control as callbacks; the history and checkpoints record
it. Prediction: validated X, the network's raw outputs in chunks
(``prediction``), decoded by ``target_``.

Every override of skorch's methods is here, as a thin delegation with
skorch's signature, so a user's subclass overrides them as in skorch. The
public classes (``classifiers.py``, ``regressor.py``) say which target they
fit and how they predict.
"""

from numbers import Integral

import sklearn
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.metadata_routing import process_routing
from skorch.dataset import Dataset
from skorch.net import NeuralNet
from skorch.utils import to_tensor
from torch.utils.data import DataLoader

from . import building, prediction, preparation, saved_state
from .checkpoints import load_checkpoint
from .data import indexed_device
from .mlp_attributes import MLPAttributesMixin
from .overrides import builds_own_components, reduces_own_losses
from .parameters import PARAMETER_CONSTRAINTS, ParametersMixin
from .planning import plan_fit
from .prediction import OutputReading
from .runtime import (
    resolve_device,
    resolve_n_threads,
    resolved_device,
    seeded,
    torch_threads,
)
from .session import current_session, fit_session
from .targets import Target
from .training import loop
from .training.checks import check_training_setup
from .training.defaults import default_callbacks
from .training.history import TrainingHistory
from .training.loss import batch_loss
from .training.sklearn_callbacks import CallbackSupportMixin, fit_task


class NNEstimator(MLPAttributesMixin, CallbackSupportMixin, ParametersMixin):
    """What ``NNBinaryClassifier``, ``NNClassifier`` and ``NNRegressor`` share.

    Placed before skorch's net in the method resolution order, it keeps
    skorch's loop and callbacks and replaces what scikit-learn's conventions
    rule out (attributes set in ``__init__``, a fixed device, unchecked
    input). Subclasses set ``_target_class`` and implement ``_new_target``.
    """

    prefixes_ = NeuralNet.prefixes_ + ["lr_schedule"]
    _parameter_constraints = PARAMETER_CONSTRAINTS
    _target_class = Target

    # skorch parameters with skorch's defaults, unless given as keywords.
    iterator_train = DataLoader
    iterator_valid = DataLoader
    dataset = Dataset
    use_caching = "auto"
    torch_load_kwargs = None
    classes = None

    # skorch keeps these in the instance from __init__ on; here they appear
    # when the net is built (scikit-learn: nothing but parameters in __init__).
    @property
    def initialized_(self):
        """Whether the module, criterion and optimizer have been built."""
        return self.__dict__.get("initialized_", False)

    @initialized_.setter
    def initialized_(self, value):
        self.__dict__["initialized_"] = value

    @property
    def virtual_params_(self):
        return self.__dict__.setdefault("virtual_params_", {})

    @virtual_params_.setter
    def virtual_params_(self, value):
        self.__dict__["virtual_params_"] = value

    def __repr__(self):
        # scikit-learn's: the class and the parameters that differ from defaults.
        return BaseEstimator.__repr__(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags

    # -- the target --------------------------------------------------------------

    def _new_target(self, y):
        """The unfitted target a fit on ``y`` needs (``y`` is None for a Dataset)."""
        raise NotImplementedError

    def _target(self):
        """``target_``, or before any fit a target built from the parameters
        (skorch's ``initialize(); load_params()`` restores a net unfitted)."""
        target = self.__dict__.get("target_")
        return target if target is not None else self._unfitted_target()

    def _unfitted_target(self):
        return self._new_target(None)

    def _reading(self):
        """How this net's raw outputs are read as scores (``prediction.OutputReading``)."""
        return OutputReading(self)

    # -- fit ----------------------------------------------------------------------

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
            encoded). X's dtype follows the module: float32 (float64 for a
            float64 module), and integer X stays integer for a module holding
            an ``nn.Embedding`` or ``nn.EmbeddingBag`` (token ids).
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
        epochs = _epoch_count(fit_params.pop("epochs", None))
        return self._fit(
            X, y, sample_weight, validation_data, fit_params, not continuing, epochs
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
            Passes over the data; None trains ``partial_fit_epochs`` (one
            pass by default, scikit-learn's convention; ``max_epochs`` for a
            net built with skorch's ``initialize()``, as skorch's
            ``partial_fit``). 0 builds the network for the data without
            training, as skorch's ``fit_loop(X, y, epochs=0)``.
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
        setting = self.partial_fit_epochs
        if setting == "auto":
            built_by_user = self.__dict__.get("_initialized_by_user", False)
            setting = "max_epochs" if built_by_user else 1
        if epochs is None and setting != "max_epochs":
            epochs = int(setting)
        reset = not self.initialized_
        return self._fit(
            X, y, sample_weight, None, fit_params, reset, epochs, "partial_fit", classes
        )

    def _fit(
        self,
        X,
        y,
        sample_weight,
        validation_data,
        fit_params,
        reset,
        epochs,
        kind="fit",
        classes=None,
    ):
        self._check_setup(validation_data)
        if sklearn.get_config()["enable_metadata_routing"]:
            # Metadata nothing requested fails before any data is read.
            process_routing(self, kind, **fit_params)
        data_reset = reset or "target_" not in self.__dict__
        if not data_reset:
            self.target_.check_same_classes(classes)
        if reset or "device_" not in self.__dict__:
            self.device_ = resolve_device(self.device)
        dataset, split_y = preparation.training_data(
            self, X, y, sample_weight, reset=data_reset, classes=classes, kind=kind
        )
        given = None
        if validation_data is not None:
            given = preparation.validation_data(self, validation_data)
        session = plan_fit(self, kind, dataset, given, epochs, reset, split_y)
        with (
            seeded(session.seed, self.device_),
            self._resolved_device(),
            fit_session(self, session),
        ):
            if reset or not self.initialized_:
                self.initialize()
                self.best_epoch_ = None
            # X validated above takes the dtype of the module built now, once.
            dataset = preparation.finish(self, dataset)
            session.validation = preparation.finish(self, session.validation)
            session.reduces_own_losses = reduces_own_losses(self)
            threads = self._thread_count(session.train_batch_size, training=True)
            with torch_threads(threads), fit_task(self, X, y, session.epochs):
                loop.train(self, X, y, dataset, session, fit_params)
        return self

    def _thread_count(self, batch_size, training):
        """Torch threads for this work: ``n_threads``, or the ``"auto"`` rule."""
        input_shape = self.__dict__.get("input_shape_")
        return resolve_n_threads(
            self.n_threads,
            module=self.__dict__.get("module_"),
            input_shape=input_shape if isinstance(input_shape, tuple) else None,
            batch_size=batch_size,
            device=self.device_,
            training=training,
        )

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
        if not builds_own_components(self):
            # Otherwise skorch's order: after initialize has registered them.
            self._check_param_names()
        self._target_class.check_criterion(self.criterion, type(self).__name__)
        has_validation = preparation.has_validation(self, validation_data)
        check_training_setup(self, has_validation)

    # -- building the network (skorch's steps) --------------------------------------

    def initialize(self):
        """Build callbacks, module, criterion and optimizer (skorch's ``initialize``).

        Before ``fit`` the module gets only the shapes given as ``module__*``
        arguments, so ``initialize(); load_params(...)`` restores a net.
        """
        self.device_ = resolve_device(self.device)
        with self._resolved_device():
            super().initialize()  # ends with the names' check (_validate_params)
        # skorch's workflow (initialize(), then partial_fit) keeps skorch's
        # partial_fit; a fit builds the net itself.
        if current_session(self) is None:
            self._initialized_by_user = True
        else:
            self.__dict__.pop("_initialized_by_user", None)
        return self

    @property
    def _default_callbacks(self):
        return default_callbacks(self)

    def initialize_module(self):
        """Build ``module_``, passing the inferred shapes the constructor asks for."""
        self.module_ = building.build_module(self)
        return self

    def _initialize_module(self, reason=None):
        if "device_" not in self.__dict__:  # called on its own, before initialize
            self.device_ = resolve_device(self.device)
        if self.initialized_:  # a new module's outputs are read anew
            self.__dict__.pop("module_outputs_", None)
            self._forget_loss_input()
        with self._current_init_context("module"):
            building.announce_reinit(self, "module", self._modules, reason)
            self.initialize_module()
            building.place_components(self, self._modules)
        return self

    def initialize_criterion(self):
        """Build ``criterion_`` as skorch does, with the reduction it reports.

        ``get_loss`` asks a ``"mean"`` criterion for per-sample losses only
        when there are weights to apply.
        """
        self.criterion_ = building.build_criterion(self)
        return self

    def _initialize_criterion(self, reason=None):
        if "device_" not in self.__dict__:
            self.device_ = resolve_device(self.device)
        self._forget_loss_input()  # decided for the criterion built
        with self._current_init_context("criterion"):
            building.announce_reinit(self, "criterion", self._criteria, reason)
            self.initialize_criterion()
            building.place_components(self, self._criteria)
        return self

    def _forget_loss_input(self):
        session = current_session(self)
        if session is not None:
            session.loss_input_known = False

    def initialize_optimizer(self, triggered_directly=None):
        """Build ``optimizer_``, with fused or foreach kernels where torch has them."""
        self.optimizer_ = building.build_optimizer(self)
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

    # -- skorch's loop --------------------------------------------------------------

    def notify(self, method_name, **cb_kwargs):
        loop.notify(self, method_name, cb_kwargs)

    def check_data(self, X, y=None):
        pass  # validated before the loop; skorch's checks would re-read the data

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset = self.get_dataset(X, y)
        session = current_session(self)
        if session is None:  # called outside a fit: skorch's own split
            return super().get_split_datasets(X, y, **fit_params)
        return preparation.split_datasets(self, dataset, session, fit_params)

    def get_iterator(self, dataset, training=False):
        return loop.make_iterator(self, dataset, training)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch, with the user's labels in the batches callbacks see."""
        loop.run_epoch(self, iterator, training, prefix, step_fn, fit_params)

    def _set_training(self, training=True):
        # skorch sets the mode before every batch; walking the module tree
        # each time costs more than a small network's step, so only on change.
        module = self.__dict__.get("module_")
        if getattr(module, "training", None) == training:
            criterion = self.__dict__.get("criterion_")
            if getattr(criterion, "training", training) == training:
                if len(self._modules) + len(self._criteria) <= 2:
                    return
        super()._set_training(training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Loss of one batch, as the criterion reduces it; weighted with weights.

        Without weights this is ``criterion_(y_pred, y_true)``: the criterion
        is built with the reduction it reports (torch's ``"mean"`` unless
        ``criterion__reduction`` says otherwise), as in skorch. With
        ``sample_weight`` or class weights, the weighted mean of per-sample
        losses (a ``CrossEntropyLoss`` or ``NLLLoss`` with ``weight`` or
        ``ignore_index`` averaged as torch's mean is); the weights are those
        of the batch being processed, so an override with skorch's signature
        works unchanged. With ``criterion__reduction="none"`` and
        ``get_loss`` overridden (skorch's sample-weight recipe), the
        per-sample losses are returned for the override to reduce; outside
        a fit a ``"none"`` criterion's losses are returned as they are
        (skorch's ``loss_scoring``). Outputs that are probabilities reach
        the criterion as skorch gives them: see
        ``nnestimators.training.outputs``.
        """
        return batch_loss(self, y_pred, y_true, training)

    def infer(self, x, **fit_params):
        """Run the module on one batch (on ``device_``)."""
        session = current_session(self)
        device = session.torch_device if session else indexed_device(self.device_)
        try:
            return self._forward(x, device, fit_params)
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

    def _forward(self, x, device, fit_params):
        if hasattr(x, "device"):  # a tensor
            return self.module_(x if x.device == device else x.to(device), **fit_params)
        x = to_tensor(x, device=self.device_)
        if isinstance(x, dict):
            return self.module_(**self._merge_x_and_fit_params(x, fit_params))
        return self.module_(x, **fit_params)

    # -- prediction -------------------------------------------------------------------

    def _raw_outputs(self, X):
        """Validated X through the network in bounded chunks; a CPU tensor."""
        with self._resolved_device():
            return prediction.raw_outputs(self, X, self._prediction_threads)

    def _prediction_threads(self, rows):
        return torch_threads(self._thread_count(rows, training=False))

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

    # -- persistence --------------------------------------------------------------------

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

    def _resolved_device(self):
        return resolved_device(self)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("fit_session_", None)  # pickled during a fit (a callback)
        if "_requested_device" in state:
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

    def _checkpoint_fitted(self):
        """The fitted state a checkpoint keeps, as plain data (``saved_state``)."""
        return saved_state.fitted_state(self)

    def _restore_fitted(self, fitted, version, **options):
        """Set a checkpoint's fitted state on this estimator (``saved_state``)."""
        saved_state.restore(self, fitted, version, **options)

    @classmethod
    def from_checkpoint(
        cls, path, *, which=None, trusted=None, target_kind=None, **params
    ):
        """Load a fitted estimator from a checkpoint folder.

        Loading imports and calls nothing the caller did not trust: see
        ``nnestimators.checkpoints`` for the trust model. The loaded
        estimator writes checkpoints only where ``checkpoint_dir=`` given
        here says; the folder it was loaded from is ``checkpoint_path_``.

        Parameters
        ----------
        path : str or path-like
            A fit's checkpoint folder (``checkpoint_path_``), or a
            ``checkpoint_dir`` holding one fit, or several with ``which``
            saying which.
        which : {"latest", "earliest"}, default=None
            For a ``checkpoint_dir`` of several fits (a notebook cell run
            twice): the fit whose checkpoint was written last or first. None
            refuses such a folder, naming its fits.
        trusted : list of classes, default=None
            Your own classes (a module, say) the checkpoint may name, besides
            the built-in allow-list of torch and nnestimators classes.
        target_kind : {"labels", "multilabel"}, default=None
            Only for a checkpoint of format 2 (before nnestimators 0.1's
            target objects) of a classifier trained on the labels 0..k-1,
            which did not record whether its targets were labels or a
            multilabel indicator matrix; loading it asks for this.
        **params
            Parameters overriding the saved ones (and trusted with them);
            required for those that could not be saved as plain data.

        Returns
        -------
        estimator : object
            A fitted estimator with the checkpoint's weights.
        """
        estimator = load_checkpoint(
            cls,
            path,
            family=saved_state.estimator_family(NNEstimator),
            library=saved_state.library_classes(),
            restore_options={"target_kind": target_kind},
            trusted=trusted,
            which=which,
            **params,
        )
        estimator.__dict__.pop("_initialized_by_user", None)  # a fitted net
        # A warm-started fit continues this fit's folder when it lies in the
        # checkpoint_dir given here (a checkpoint never restores one).
        best_model = dict(estimator.callbacks_).get("best_model")
        if best_model is not None:
            best_model.folder_ = estimator.checkpoint_path_
            best_model.written_history_ = estimator.history_
        return estimator


def _epoch_count(epochs):
    """None (the estimator decides), or a number of epochs; 0 trains nothing,
    as skorch's fit_loop(epochs=0) (which builds the net for its data)."""
    if epochs is None:
        return None
    if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}.")
    return int(epochs)
