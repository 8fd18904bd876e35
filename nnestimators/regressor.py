"""Regression with one or several targets."""

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight
from skorch import NeuralNetRegressor
from skorch.dataset import Dataset
from skorch.utils import data_from_dataset

from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from .base import NNEstimatorMixin
from .modules import MLP, builds_own_module
from .parameters import store_params as _store_params

# "auto" standardizes a user module's targets beyond this mean or spread.
AUTO_SCALE_LIMIT = 10.0


class NNRegressor(NNEstimatorMixin, NeuralNetRegressor):
    __doc__ = f"""A PyTorch network as a scikit-learn regressor.

    ``y`` may be 1-d or 2-d; ``predict`` returns the shape ``y`` had at fit.
    The module receives ``n_features``, ``input_shape`` and ``n_outputs``
    (the number of targets) when its constructor asks for them.

    Parameters
    ----------
    module : type or torch.nn.Module, default=MLP
        The network; its arguments as ``module__name=value``. A class is
        built with the shapes inferred from the data; an instance is copied
        at each fit, which starts from its weights (a pretrained network is
        fine-tuned, the instance itself is never trained).
    criterion : type or torch.nn.Module, default=torch.nn.MSELoss
        Loss, built as skorch builds it; weights apply to any loss with a
        ``reduction``.
    standardize_target : bool or "auto", default="auto"
        Train on ``(y - mean) / std`` (weighted by ``sample_weight``) and map
        predictions back, so targets on any scale (prices, counts) train as
        well as scaled ones. Losses in the history are then in standard
        units; metrics and predictions stay in the units of ``y``. ``"auto"``
        standardizes for the networks nnestimators builds (``MLP``,
        ``ConvNet``, ``LeNet5``), and for a module of your own when ``y``'s
        mean or spread exceeds 10; otherwise your module sees ``y`` as
        given, as in skorch.
{TRAINING_PARAMETERS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}    target_mean_, target_scale_ : ndarray of shape (n_targets,)
        The standardisation of ``y`` (0 and 1 with ``standardize_target=False``).

    See Also
    --------
    NNClassifier : Classification.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from nnestimators import NNRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), NNRegressor(random_state=0))
    >>> model.fit(X, y).score(X, y) > 0.4
    True
    """

    _regression = True
    _parameter_constraints = {
        **NNEstimatorMixin._parameter_constraints,
        "standardize_target": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        module=MLP,
        *,
        criterion=torch.nn.MSELoss,
        standardize_target="auto",
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs="auto",
        batch_size="auto",
        validation_fraction=None,
        metrics=None,
        monitor="valid_loss",
        patience=None,
        min_delta=0.0,
        restore_best_weights=True,
        checkpoint_dir=None,
        lr_schedule=None,
        gradient_clip=None,
        augment=None,
        device="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        partial_fit_epochs=1,
        callbacks=None,
        train_split=None,
        predict_nonlinearity="auto",
        compile=False,
        **kwargs,
    ):
        _store_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _encode_target(self, y, *, reset, classes, sample_weight=None):
        targets = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if reset:
            self._target_ndim = np.ndim(y)
            self.target_mean_, self.target_scale_ = self._target_statistics(
                targets, sample_weight
            )
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} targets, but {type(self).__name__} was "
                f"fitted with {self.n_outputs_}."
            )
        return ((targets - self.target_mean_) / self.target_scale_).astype(np.float32)

    def _target_statistics(self, targets, sample_weight):
        """Mean and scale the network learns targets in (0 and 1 when off)."""
        n_targets = targets.shape[1]
        if self.standardize_target is False:
            return np.zeros(n_targets), np.ones(n_targets)
        # Weighted, so that integer weights and repeated rows agree.
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(
                sample_weight, targets, ensure_non_negative=True
            )
            weights = weights if weights.sum() > 0 else None  # refused later
        mean = np.average(targets, axis=0, weights=weights)
        variance = np.average((targets - mean) ** 2, axis=0, weights=weights)
        scale = np.sqrt(variance)
        if not self._standardizes(mean, scale):
            return np.zeros(n_targets), np.ones(n_targets)
        return mean, np.where(scale > 0, scale, 1.0)

    def _standardizes(self, mean, scale):
        """``standardize_target="auto"``: for our modules, or targets far from unit scale.

        A module of your own sees ``y`` as given (skorch's behaviour) while
        the target is of order one, where networks train well either way.
        """
        if self.standardize_target != "auto":
            return bool(self.standardize_target)
        far_from_unit = np.max(np.maximum(np.abs(mean), scale)) > AUTO_SCALE_LIMIT
        return builds_own_module(self.module) or bool(far_from_unit)

    def _record_shapes(self, X, targets):
        self.n_outputs_ = targets.shape[1]

    def _record_dataset_targets(self, dataset, first_y, y=None):
        # A Dataset's targets are used as they are.
        self.target_mean_, self.target_scale_ = 0.0, 1.0
        if isinstance(dataset, Dataset):
            _, targets = data_from_dataset(dataset)
            self._target_ndim = np.ndim(targets)
        else:
            self._target_ndim = 1 + first_y.dim()
        self.n_outputs_ = max(1, first_y.numel())

    def _metric_targets(self, targets):
        targets = targets * self.target_scale_ + self.target_mean_
        return targets.ravel() if self._target_ndim == 1 else targets

    def _metric_classes(self):
        return None

    def _metric_context(self):
        return "regression"

    def _check_criterion(self):
        pass

    def _decode_batch_targets(self, targets):
        mean = getattr(self, "target_mean_", 0.0)
        scale = getattr(self, "target_scale_", 1.0)
        if np.all(np.asarray(mean) == 0) and np.all(np.asarray(scale) == 1):
            return targets
        values = targets.double().reshape(len(targets), -1).cpu().numpy()
        values = values * scale + mean
        return torch.as_tensor(values.reshape(targets.shape), dtype=torch.float32)

    def _frozen_outputs(self, raw):
        return {"predict": self._predictions(raw)}

    def _decode(self, raw, dtype=np.float64):
        values = raw.numpy().astype(np.float64).reshape(len(raw), -1)
        values = values * getattr(self, "target_scale_", 1.0)
        values = values + getattr(self, "target_mean_", 0.0)
        n_outputs = values.shape[1]
        if self.__dict__.get("_target_ndim", 1 if n_outputs == 1 else 2) == 1:
            values = values.reshape(len(values))
        # float32 X gives float32 predictions, as MLPRegressor does.
        return values.astype(dtype, copy=False)

    def predict(self, X):
        """Return predictions shaped like the ``y`` given to fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples shaped like the training data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        return self._predictions(self._raw_outputs(X), dtype)

    def _predictions(self, raw, dtype=np.float64):
        # skorch's predict_nonlinearity ("auto": none for a regression loss),
        # on the network's outputs before they go back to the units of y.
        raw = torch.as_tensor(self._get_predict_nonlinearity()(raw)).float()
        return self._decode(raw, dtype)

    @available_if(lambda self: False)
    def predict_proba(self, X):
        """Regressors have no probabilities (hidden from ``hasattr``)."""
        raise AttributeError("predict_proba")
