"""Regression with one or several targets.

The fitted ``target_`` (a ``ScaledTarget``) standardises ``y`` for the
network and maps its outputs back to the units and shape of ``y``.
"""

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from skorch import NeuralNetRegressor

from ._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from .base import NNEstimator
from .modules import MLP, builds_own_module
from .optimizers import AdamOrSGD
from .parameters import store_params as _store_params
from .targets import ScaledTarget
from .validation import float32_values


class NNRegressor(NNEstimator, NeuralNetRegressor):
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
        The standardisation of ``y`` (0 and 1 with ``standardize_target=False``),
        read from ``target_``.

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

    _parameter_constraints = {
        **NNEstimator._parameter_constraints,
        "standardize_target": ["boolean", StrOptions({"auto"})],
    }
    _target_class = ScaledTarget

    def __init__(
        self,
        module=MLP,
        *,
        criterion=torch.nn.MSELoss,
        standardize_target="auto",
        optimizer=AdamOrSGD,
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
        partial_fit_epochs="auto",
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

    def _new_target(self, y):
        return ScaledTarget(self.standardize_target, builds_own_module(self.module))

    @property
    def target_mean_(self):
        """The mean ``y`` is trained minus (0 when not standardised)."""
        return self._fitted_target("target_mean_").mean_

    @property
    def target_scale_(self):
        """The spread ``y`` is trained divided by (1 when not standardised)."""
        return self._fitted_target("target_scale_").scale_

    def _fitted_target(self, name):
        target = self.__dict__.get("target_")
        if target is None:
            raise AttributeError(
                f"{type(self).__name__} has no attribute {name!r} before fit."
            )
        return target

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
        # float32 X gives float32 predictions, as MLPRegressor does.
        dtype = np.float32 if float32_values(X) else np.float64
        raw = self._raw_outputs(X)
        # skorch's predict_nonlinearity ("auto": none for a regression loss),
        # on the network's outputs before they go back to the units of y.
        raw = torch.as_tensor(self._get_predict_nonlinearity()(raw)).float()
        return self._target().values(raw, dtype)

    @available_if(lambda self: False)
    def predict_proba(self, X):
        """Regressors have no probabilities (hidden from ``hasattr``)."""
        raise AttributeError("predict_proba")
