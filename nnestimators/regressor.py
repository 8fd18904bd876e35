"""Regression with one or several targets."""

import numpy as np
import torch
from sklearn.utils.metaestimators import available_if
from skorch import NeuralNetRegressor
from skorch.dataset import Dataset
from skorch.utils import data_from_dataset

from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from .base import NNEstimatorMixin, _store_params
from .modules import MLP


class NNRegressor(NNEstimatorMixin, NeuralNetRegressor):
    __doc__ = f"""A PyTorch network as a scikit-learn regressor.

    ``y`` may be 1-d or 2-d; ``predict`` returns the shape ``y`` had at fit.
    The module receives ``n_features``, ``input_shape`` and ``n_outputs``
    (the number of targets) when its constructor asks for them.

    Parameters
    ----------
    module : type or torch.nn.Module, default=MLP
        The network; its arguments as ``module__name=value``.
    criterion : type, default=torch.nn.MSELoss
        Loss, built with ``reduction="none"`` so that sample weights apply.
{TRAINING_PARAMETERS}
    Attributes
    ----------
{FITTED_ATTRIBUTES}
    See Also
    --------
    NNClassifier : Classification.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.compose import TransformedTargetRegressor
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from nnestimators import NNRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = TransformedTargetRegressor(
    ...     make_pipeline(StandardScaler(), NNRegressor(random_state=0)),
    ...     transformer=StandardScaler())
    >>> model.fit(X, y).score(X, y) > 0.4
    True
    """

    _regression = True

    def __init__(
        self,
        module=MLP,
        *,
        criterion=torch.nn.MSELoss,
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
        n_threads=None,
        random_state=None,
        verbose=0,
        warm_start=False,
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

    def _encode_target(self, y, *, reset, classes):
        targets = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        if reset:
            self._target_ndim = np.ndim(y)
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} targets, but {type(self).__name__} was "
                f"fitted with {self.n_outputs_}."
            )
        return targets

    def _record_shapes(self, X, targets):
        self.n_outputs_ = targets.shape[1]

    def _record_dataset_targets(self, dataset, first_y):
        if isinstance(dataset, Dataset):
            _, targets = data_from_dataset(dataset)
            self._target_ndim = np.ndim(targets)
        else:
            self._target_ndim = 1 + first_y.dim()
        self.n_outputs_ = max(1, first_y.numel())

    def _metric_targets(self, targets):
        return targets.ravel() if self._target_ndim == 1 else targets

    def _metric_classes(self):
        return None

    def _frozen_outputs(self, raw):
        return {"predict": self._decode(raw)}

    def _decode(self, raw):
        values = raw.numpy().astype(np.float64)
        if self._target_ndim == 1:
            return values.reshape(len(values))
        return values.reshape(len(values), self.n_outputs_)

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
        return self._decode(self._raw_outputs(X))

    @available_if(lambda self: False)
    def predict_proba(self, X):
        """Regressors have no probabilities (hidden from ``hasattr``)."""
        raise AttributeError("predict_proba")
