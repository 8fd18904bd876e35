"""What ``MLPClassifier`` and ``MLPRegressor`` share: MLP's rules around a fit.

A fit follows MLP's order: check the parameters; validate X and y (the
first pass resets what the estimator knows of them); on a first pass draw
MLP's initial weights from ``check_random_state(random_state)``; with
``early_stopping`` split off the validation rows from the same stream;
then train ``net_`` (a new one for each ``fit``, MLP's fresh solver; the
same one for ``partial_fit``, which keeps the solver's state) from
``coefs_`` and ``intercepts_``, and read the weights and MLP's solver state
back into MLP's fitted attributes.
"""

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .checkpointing import NET_OVERRIDES, MLPRecord, load_drop_in_net
from .control import STATE_FIELDS, MLPState
from .network import all_finite, glorot_init
from .parameters import PARAMETER_CONSTRAINTS
from .translate import STOCHASTIC_SOLVERS, hidden_sizes, net_class, net_params

# MLPState's fields and the drop-in's attributes that show them.
_SOLVER_ATTRIBUTES = {
    name: "_no_improvement_count" if name == "no_improvement_count" else name
    for name in STATE_FIELDS
}


class BaseMLP(BaseEstimator):
    """MLP's fit around a package estimator, ``net_``; subclasses add the task.

    Subclasses implement ``_validate_input`` (X and y checked, labels
    learnt), ``_task``, ``_net_target`` (y as ``net_`` is trained on it),
    ``_validation_scorer`` and ``_restore_labels``.
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS
    # Fitted attributes a checkpoint keeps besides the weights and solver state.
    _RECORDED = ("n_features_in_", "feature_names_in_", "n_layers_", "n_outputs_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X and y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The trained model.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @property
    def _optimizer(self):
        # MLP's solver object; code written for MLP reads its learning_rate.
        check_is_fitted(self)
        return self.net_.optimizer_

    @property
    def history_(self):
        """The training history of ``net_`` (skorch's ``History``): one row
        per epoch of the fits since the last first pass."""
        check_is_fitted(self)
        return self.net_.history_

    def history_frame(self):
        """Return ``history_`` as a DataFrame, one row per epoch.

        Columns: ``epoch``, ``train_loss``, ``dur`` and, with
        ``early_stopping``, ``validation_score``. The package's reports plot it.
        """
        check_is_fitted(self)
        return self.net_.history_frame()

    # -- one fit ----------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        hidden = hidden_sizes(self.hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        self.n_outputs_ = self._n_outputs(y)
        units = [X.shape[1], *hidden, self.n_outputs_]
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(units, random_state, X.dtype)
        else:
            _check_layer_units(self, units)
        stochastic = self.solver in STOCHASTIC_SOLVERS
        if stochastic and incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        X_train, y_train, weights, validation = X, y, sample_weight, None
        if stochastic and self.early_stopping:
            X_train, y_train, weights, validation = self._split(
                X, y, sample_weight, random_state
            )
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        net = self._prepared_net(X_train, incremental, seed)
        fit_params = {} if weights is None else {"sample_weight": weights}
        targets = self._net_target(y_train)
        if stochastic:
            self._train_stochastic(
                net, X_train, targets, fit_params, incremental, validation
            )
        else:
            self._train_lbfgs(net, X_train, targets, fit_params)
        self._expose_weights()
        if "checkpoint_path_" in vars(net):
            self.checkpoint_path_ = net.checkpoint_path_
        if not all_finite(net.module_):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        return self

    def _train_stochastic(self, net, X, targets, fit_params, incremental, validation):
        """Epochs of sgd or adam; ``MLPControl`` keeps MLP's solver state."""
        state = self._solver_state()
        net.mlp_record_ = self._record(state=state)
        control = dict(net.callbacks_)["mlp_control"]
        X_val, score = self._validation_for(net, validation)
        control.start(state, X.shape[0], incremental, X_val, score)
        if incremental:
            net.partial_fit(X, targets, **fit_params)
        else:
            net.fit(X, targets, **fit_params)
        self._read_state(state)

    def _train_lbfgs(self, net, X, targets, fit_params):
        """One full-batch epoch in which scipy's L-BFGS-B runs to its end."""
        net.mlp_record_ = self._record(lbfgs=net.optimizer_)
        net.fit(X, targets, **fit_params)
        self._read_lbfgs_result(net.optimizer_.result_)

    def _n_outputs(self, y):
        return 1 if y.ndim == 1 else y.shape[1]

    def _initialize(self, units, random_state, dtype):
        """MLP's first pass: new weights and a new solver state."""
        for name in ("net_", "_mlp_state", *_SOLVER_ATTRIBUTES.values()):
            vars(self).pop(name, None)
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(units)
        self.out_activation_ = self._out_activation()
        self.coefs_, self.intercepts_ = glorot_init(
            units, self.activation, random_state, dtype
        )
        if self.solver in STOCHASTIC_SOLVERS:
            self._read_state(MLPState(self.early_stopping))

    def _solver_state(self):
        """The solver state this fit continues, as the fitted attributes say it
        is (code written for MLP may set them by hand)."""
        state = vars(self).get("_mlp_state")
        if state is None:
            state = self._mlp_state = MLPState(self.early_stopping)
        for name, attribute in _SOLVER_ATTRIBUTES.items():
            if attribute in vars(self):
                setattr(state, name, getattr(self, attribute))
        if state.loss_curve_ is not None:
            state.loss_curve_ = list(state.loss_curve_)
        return state

    def _read_state(self, state):
        """Show ``state`` as MLP's fitted attributes (``loss_`` once there is one)."""
        self._mlp_state = state
        for name, attribute in _SOLVER_ATTRIBUTES.items():
            value = getattr(state, name)
            if value is not None or name != "loss_":
                setattr(self, attribute, value)

    def _read_lbfgs_result(self, result):
        self.n_iter_ = min(result.nit, self.max_iter)
        self.loss_ = np.float64(result.fun)
        if result.status == 0:
            return
        message = (
            f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if self.n_iter_ == self.max_iter:
            message += (
                "\nIncrease the number of iterations to improve the convergence "
                f"(max_iter={self.max_iter})."
            )
        message += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html"
        )
        warnings.warn(message, ConvergenceWarning, stacklevel=4)

    def _prepared_net(self, X_train, incremental, seed):
        """``net_`` ready to train from ``coefs_``: a new net for each ``fit``
        (MLP's fresh solver), the same one for ``partial_fit``."""
        net = vars(self).get("net_")
        if net is None or not incremental:
            task = self._task()
            params = net_params(
                self,
                task=task,
                n_features=self.coefs_[0].shape[0],
                n_outputs=self.n_outputs_,
                n_train=X_train.shape[0],
                dtype="float32" if X_train.dtype == np.float32 else "float64",
                seed=seed,
            )
            previous = net
            net = net_class(task)(**params)
            net.initialize()
            if previous is not None and self.solver in STOCHASTIC_SOLVERS:
                net.history_ = previous.history_  # the epochs since the first pass
        net.module_.load_arrays(self.coefs_, self.intercepts_)
        self.net_ = net
        return net

    def _split(self, X, y, sample_weight, random_state):
        """MLP's early-stopping split: stratified only for one output unit
        (binary), on the binarized labels."""
        stratify = self._stratify(y)
        arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
        parts = train_test_split(
            *arrays,
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        X_train, X_val, y_train, y_val = parts[:4]
        weights, weights_val = (None, None) if sample_weight is None else parts[4:]
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return X_train, y_train, weights, (X_val, y_val, weights_val)

    def _stratify(self, y):
        return None

    def _validation_for(self, net, validation):
        """The validation X as a tensor for ``net_``'s module, and its scorer."""
        if validation is None:
            return None, None
        X_val, y_val, weights_val = validation
        if hasattr(X_val, "toarray"):
            X_val = X_val.toarray()
        parameter = net.module_.coefs[0]
        tensor = torch.as_tensor(np.asarray(X_val), dtype=parameter.dtype)
        return tensor.to(parameter.device), self._validation_scorer(y_val, weights_val)

    def _expose_weights(self):
        module = self.net_.module_
        self.coefs_ = [p.detach().cpu().numpy() for p in module.coefs]
        self.intercepts_ = [p.detach().cpu().numpy() for p in module.intercepts]
        self._exposed_weights = (*self.coefs_, *self.intercepts_)

    def _use_assigned_weights(self):
        """Arrays assigned to ``coefs_``/``intercepts_`` predict, as in MLP.

        The exposed arrays share the module's memory on the CPU, so edits in
        place need nothing; a new list or array is copied into the module.
        """
        arrays = (*self.coefs_, *self.intercepts_)
        exposed = vars(self).get("_exposed_weights", ())
        if len(arrays) == len(exposed) and all(
            a is b for a, b in zip(arrays, exposed, strict=True)
        ):
            return
        _check_weight_shapes(self, self.coefs_, self.intercepts_)
        self.net_.module_.load_arrays(self.coefs_, self.intercepts_)
        self._expose_weights()

    # -- prediction ----------------------------------------------------------------

    def _net_input(self, X):
        check_is_fitted(self)
        self._use_assigned_weights()
        return validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            reset=False,
            dtype=(np.float64, np.float32),
        )

    # -- checkpoints -----------------------------------------------------------------

    def _record(self, state=None, lbfgs=None):
        params = self.get_params(deep=False)
        params.pop("checkpoint_dir")
        fitted = {n: getattr(self, n) for n in self._RECORDED if hasattr(self, n)}
        fitted["labels"] = self._label_record()
        return MLPRecord(type(self).__name__, params, fitted, state, lbfgs)

    def _label_record(self):
        """The fitted labels as plain data (classifiers)."""
        return {}

    @classmethod
    def from_checkpoint(cls, path, *, trusted=None, **params):
        """Load a fitted drop-in from a checkpoint folder of its ``net_``.

        With ``checkpoint_dir``, each fit writes the best model so far (the
        lowest training loss, or with ``early_stopping`` the best validation
        score) into a folder of its own; loading it imports and calls
        nothing the caller did not trust (see ``nnestimators.checkpoints``).

        Parameters
        ----------
        path : str or path-like
            A fit's checkpoint folder (``checkpoint_path_``), or a
            ``checkpoint_dir`` holding exactly one fit.
        trusted : list of classes, default=None
            Classes besides the package's that the checkpoint may name.
        **params
            Parameters overriding the saved ones (``device``, say).

        Returns
        -------
        estimator : object
            The fitted drop-in; ``partial_fit`` and ``warm_start`` continue it.
        """
        overrides = {k: v for k, v in params.items() if k in NET_OVERRIDES}
        net, record = load_drop_in_net(
            path, cls.__name__, trusted=trusted, overrides=overrides
        )
        estimator = cls(**{**record["params"], **params})
        fitted = dict(record["fitted"])
        estimator._restore_labels(fitted.pop("labels", {}))
        for name, value in fitted.items():
            setattr(estimator, name, value)
        estimator.out_activation_ = estimator._out_activation()
        estimator.net_ = net
        if record["state"] is None:
            estimator.t_ = 0
        else:
            estimator._read_state(MLPState.from_plain(record["state"]))
        estimator._expose_weights()
        estimator.checkpoint_path_ = net.checkpoint_path_
        return estimator

    def _restore_labels(self, labels):
        """Set back what ``_label_record`` gave (classifiers)."""


def _check_layer_units(mlp, units):
    """A continued fit (warm_start, partial_fit) keeps the fitted layers."""
    fitted = [c.shape[0] for c in mlp.coefs_] + [mlp.coefs_[-1].shape[1]]
    if list(units[1:-1]) != fitted[1:-1]:
        raise ValueError(
            f"hidden_layer_sizes={mlp.hidden_layer_sizes!r} differs from the "
            f"fitted network's hidden layers {tuple(fitted[1:-1])!r}; "
            f"{'partial_fit' if not mlp.warm_start else 'warm_start=True'} "
            "continues the fitted network. Set warm_start=False (or use a "
            "clone) to train a new one."
        )


def _check_weight_shapes(mlp, coefs, intercepts):
    module = mlp.net_.module_
    expected = [tuple(p.shape) for p in (*module.coefs, *module.intercepts)]
    given = [np.shape(a) for a in (*coefs, *intercepts)]
    if given != expected:
        raise ValueError(
            f"coefs_ and intercepts_ must keep the fitted network's shapes "
            f"{expected}; got {given}."
        )
