"""``MLPClassifier``/``MLPRegressor`` look-alikes built on our estimators.

scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` is run against
these (see ``test_sklearn_mlp_suite.py``). Each adapter is a plain
scikit-learn estimator whose ``__init__`` takes MLP's parameters, stored
untouched (so ``get_params``, ``set_params`` and ``clone`` behave as MLP's);
``fit`` translates them into an ``NNClassifier``/``NNRegressor``,
``estimator_``, that does the work. Composition rather than a subclass:
MLP and our estimators share names with other meanings
(``validation_fraction`` applies only with ``early_stopping``;
``batch_size="auto"`` is ``min(200, n_samples)``; ``verbose`` is a flag), so
one object cannot hold both sets of parameters.

Translation (MLP -> ours):

- ``hidden_layer_sizes`` -> ``module__hidden_units``; ``activation`` ->
  ``module__activation`` ("logistic" is "sigmoid", "identity" is
  ``torch.nn.Identity``)
- ``solver="sgd"`` -> ``torch.optim.SGD`` with ``momentum`` and
  ``nesterovs_momentum``; ``"adam"`` -> ``torch.optim.Adam`` with
  ``beta_1``/``beta_2``/``epsilon``; ``"lbfgs"`` has no counterpart (the
  training loop steps without a closure) and is refused
- ``alpha`` -> ``optimizer__weight_decay = alpha / batch_size``: MLP adds
  ``alpha / 2 * ||W||^2`` to each batch's summed loss, i.e. a gradient of
  ``alpha * W / batch_size`` on the mean loss
- ``learning_rate_init`` -> ``lr``; ``learning_rate="invscaling"`` ->
  ``LambdaLR`` with MLP's per-epoch ``lr / (samples_seen + 1) ** power_t``;
  ``"adaptive"`` -> ``"plateau"`` (factor 1/5), without early stopping
- ``max_iter`` -> ``max_epochs`` (per ``fit`` call, as in MLP)
- ``tol`` -> ``min_delta``; ``n_iter_no_change`` -> ``patience =
  n_iter_no_change + 1`` (MLP stops when its count *exceeds* it; ``inf``
  -> a patience never reached, so the count and ``ConvergenceWarning``
  still apply, as in MLP); monitored: ``train_loss``, or with ``early_stopping`` the
  validation accuracy / R^2 on a ``validation_fraction`` split, whose best
  weights are restored as MLP does
- ``batch_size``, ``random_state``, ``warm_start``, ``verbose`` (as 0/1)
  as they are; ``shuffle=False`` is refused (batches are always shuffled)

Attributes: ``n_iter_`` is MLP's, the epochs of the last ``fit`` (our
estimators count the whole history); the others come from ``estimator_``
(``MLPAttributesMixin``); ``_no_improvement_count`` is the number of
trailing epochs whose monitored value did not improve by ``tol``, the count
MLP's tests read.
"""

import math

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from nnestimators import NNClassifier, NNRegressor
from nnestimators.mlp_attributes import MLPAttributesMixin


def with_mixins(name, estimator_class, *mixins):
    """``estimator_class`` with the mixins it lacks (none once it has them).

    Listing a mixin that is already an ancestor would give no consistent
    method resolution order, so only the missing ones go first.
    """
    missing = tuple(m for m in mixins if not issubclass(estimator_class, m))
    if not missing:
        return estimator_class
    return type(name, (*missing, estimator_class), {"__module__": __name__})


# Named as the module attribute they are bound to, so that they pickle.
_Classifier = with_mixins("_Classifier", NNClassifier, MLPAttributesMixin)
_Regressor = with_mixins("_Regressor", NNRegressor, MLPAttributesMixin)


_ACTIVATIONS = {
    "identity": torch.nn.Identity,
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
}


class _InvScaling:
    """MLP's ``invscaling``: ``lr_init / (samples_seen + 1) ** power_t`` per epoch."""

    def __init__(self, n_samples, power_t):
        self.n_samples, self.power_t = n_samples, power_t

    def __call__(self, epoch):
        return 1.0 / (epoch * self.n_samples + 1) ** self.power_t


_NEVER = 2**31 - 1


def _solver_available(adapter):
    return adapter.solver != "lbfgs"


class _MLPAdapter(BaseEstimator):
    _estimator_class = None
    _score_metric = None

    def _translate(self, n_samples):
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' has no counterpart: the training loop steps the "
                "optimizer without a closure."
            )
        if not self.shuffle:
            raise ValueError("shuffle=False has no counterpart: batches are shuffled.")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise ValueError(f"learning_rate={self.learning_rate!r} is not MLP's.")
        batch_size = (
            min(200, n_samples)
            if self.batch_size == "auto"
            else int(np.clip(self.batch_size, 1, max(1, n_samples)))
        )
        params = {
            "module__hidden_units": self.hidden_layer_sizes,
            "module__activation": _ACTIVATIONS[self.activation],
            "lr": self.learning_rate_init,
            "max_epochs": self.max_iter,
            "batch_size": batch_size,
            "random_state": self.random_state,
            "verbose": int(bool(self.verbose)),
            "warm_start": self.warm_start,
            "min_delta": self.tol,
            "optimizer__weight_decay": self.alpha / batch_size,
        }
        if self.solver == "sgd":
            params["optimizer"] = torch.optim.SGD
            params["optimizer__momentum"] = self.momentum
            params["optimizer__nesterov"] = bool(
                self.nesterovs_momentum and self.momentum > 0
            )
        else:
            params["optimizer"] = torch.optim.Adam
            params["optimizer__betas"] = (self.beta_1, self.beta_2)
            params["optimizer__eps"] = self.epsilon
        # MLP keeps counting with n_iter_no_change=inf, it just never stops
        # (and still warns at max_iter): a patience no run reaches.
        patience = (
            int(self.n_iter_no_change) + 1
            if math.isfinite(self.n_iter_no_change)
            else _NEVER
        )
        if self.early_stopping:
            params.update(
                validation_fraction=self.validation_fraction,
                metrics=[self._score_metric],
                monitor=f"valid_{self._score_metric}",
                restore_best_weights=True,
                patience=patience,
            )
        else:
            params.update(
                validation_fraction=0.0,
                monitor="train_loss",
                restore_best_weights=False,
                patience=patience,
            )
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            params["lr_schedule"] = torch.optim.lr_scheduler.LambdaLR
            params["lr_schedule__lr_lambda"] = _InvScaling(n_samples, self.power_t)
        elif self.solver == "sgd" and self.learning_rate == "adaptive":
            params.update(
                lr_schedule="plateau",
                lr_schedule__factor=0.2,
                lr_schedule__patience=patience,
                lr_schedule__threshold=self.tol,
                lr_schedule__threshold_mode="abs",
                lr_schedule__min_lr=1e-6,
                patience=None,
            )
        return params

    def _estimator(self, X):
        params = self._translate(_num_samples(X))
        current = self.__dict__.get("estimator_")
        if current is None:
            return self._estimator_class(**params)
        # Pass only what changed: routed parameters rebuild their component.
        old = current.get_params(deep=False)
        changed = {k: v for k, v in params.items() if k not in old or old[k] != v}
        changed.pop("lr_schedule__lr_lambda", None)
        return current.set_params(**changed)

    def _fit(self, X, y, **fit_params):
        reuse = self.warm_start and "estimator_" in self.__dict__
        if not reuse:
            self.__dict__.pop("estimator_", None)
        estimator = self._estimator(X)
        before = len(estimator.history_) if reuse else 0
        estimator.fit(X, y, **fit_params)
        self.estimator_ = estimator
        self._epochs_this_fit = len(estimator.history_) - before
        return self

    def _partial_fit(self, X, y, **fit_params):
        if "estimator_" not in self.__dict__:
            self.estimator_ = self._estimator(X)
        self.estimator_.partial_fit(X, y, **fit_params)
        self._epochs_this_fit = 1
        return self

    def predict(self, X):
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @property
    def n_iter_(self):
        """Epochs of the last ``fit`` (1 after ``partial_fit``), as MLP counts."""
        check_is_fitted(self)
        return self._epochs_this_fit

    @property
    def _no_improvement_count(self):
        """Trailing epochs whose monitored value did not improve by ``tol``.

        Recomputed from the recorded values with MLP's rule (not from the
        history's ``<monitor>_best`` flags, which may come from a scorer that
        ignores ``min_delta``).
        """
        check_is_fitted(self)
        key = self.estimator_.monitor
        lower_is_better = key == "train_loss"  # else valid_accuracy / valid_r2
        best, count = None, 0
        for row in self.estimator_.history_:
            if key not in row:
                continue
            value = float(row[key])
            if best is None:
                improved = True
            elif lower_is_better:
                improved = value < best - self.tol
            else:
                improved = value > best + self.tol
            if improved:
                best, count = value, 0
            else:
                count += 1
        return count

    def __getattr__(self, name):
        # Fitted attributes (classes_, loss_curve_, ...) of the estimator.
        if name.endswith("_") and not name.startswith("__"):
            estimator = self.__dict__.get("estimator_")
            if estimator is not None:
                return getattr(estimator, name)
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class MLPClassifier(ClassifierMixin, _MLPAdapter):
    """``MLPClassifier``'s parameters, trained by an ``NNClassifier``."""

    _estimator_class = _Classifier
    _score_metric = "accuracy"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    def fit(self, X, y, sample_weight=None):
        return self._fit(X, y, sample_weight=sample_weight)

    @available_if(_solver_available)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        return self._partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    def predict_proba(self, X):
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict_log_proba(self, X):
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)


class MLPRegressor(RegressorMixin, _MLPAdapter):
    """``MLPRegressor``'s parameters, trained by an ``NNRegressor``."""

    _estimator_class = _Regressor
    _score_metric = "r2"

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    def _translate(self, n_samples):
        if self.loss != "squared_error":
            raise ValueError(
                f"loss={self.loss!r} has no counterpart (MLP's exponential output)."
            )
        return super()._translate(n_samples)

    def fit(self, X, y, sample_weight=None):
        return self._fit(X, y, sample_weight=sample_weight)

    @available_if(_solver_available)
    def partial_fit(self, X, y, sample_weight=None):
        return self._partial_fit(X, y, sample_weight=sample_weight)
