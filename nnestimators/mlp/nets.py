"""The package's estimators as the drop-ins train them: MLP's penalty added.

A drop-in's ``net_`` is one of these: ``NNBinaryClassifier`` (one logistic
unit, MLP's binary output), ``NNClassifier`` (softmax, or a logistic unit
per label) or ``NNRegressor``, with one more parameter, ``alpha``, MLP's L2
penalty. MLP adds ``0.5 * alpha * sum(||W||^2) / n`` to each batch's loss,
``n`` the batch's rows (or its weight sum), intercepts left out; its
gradient ``alpha * W / n`` is added to the weights' gradients after
backward, as MLP adds it (no autograd graph for the penalty). An optimizer's
``weight_decay`` is not the same: it sees no batch size, takes the
intercepts too and leaves the loss value without the penalty.

Checkpoints of these nets also keep the drop-in's own state
(``mlp_record_``: its parameters, labels and solver bookkeeping), so that
``MLPClassifier.from_checkpoint`` rebuilds the drop-in.
"""

import torch

from ..classifiers import NNBinaryClassifier, NNClassifier
from ..regressor import NNRegressor
from ..session import current_session
from .network import MLPNetwork


class MLPNet:
    """MLP's alpha on the package's estimators, through skorch's public hooks.

    Placed before one of the package's estimators, it adds one parameter.

    Parameters
    ----------
    module : type, default=MLPNetwork
        The network.
    alpha : float, default=0.0
        MLP's L2 penalty.
    **kwargs
        The estimator's parameters.
    """

    def __init__(self, module=MLPNetwork, *, alpha=0.0, **kwargs):
        super().__init__(module, **kwargs)
        self.alpha = alpha

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The batch's loss, plus MLP's penalty on training batches."""
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if not (training and self.alpha):
            return loss
        session = current_session(self)
        batch = None if session is None else session.batch
        weights = None if batch is None else batch.weights
        rows = float(weights.sum()) if weights is not None else len(y_true)
        self._penalty_scale = self.alpha / rows  # for on_grad_computed
        with torch.no_grad():
            penalty = 0.5 * self._penalty_scale * self.module_.penalty()
        return loss + penalty

    def on_grad_computed(self, net, named_parameters=None, **kwargs):
        """Add the penalty's gradient to the weights' gradients."""
        scale = self.__dict__.pop("_penalty_scale", None)
        if scale:
            weights = list(self.module_.coefs)
            with torch.no_grad():
                torch._foreach_add_([w.grad for w in weights], weights, alpha=scale)

    def _checkpoint_fitted(self):
        fitted = super()._checkpoint_fitted()
        record = self.__dict__.get("mlp_record_")
        if record is not None:
            fitted["mlp_record_"] = record.to_plain()
        return fitted

    def _restore_fitted(self, fitted, version, **options):
        record = fitted.pop("mlp_record_", None)
        super()._restore_fitted(fitted, version, **options)
        if record is not None:
            self.mlp_record_ = record  # plain data; the drop-in reads it


class MLPBinaryNet(MLPNet, NNBinaryClassifier):
    """``NNBinaryClassifier`` with MLP's ``alpha``: MLP's binary output unit."""


class MLPClassNet(MLPNet, NNClassifier):
    """``NNClassifier`` with MLP's ``alpha``: multiclass and multilabel targets."""


class MLPRegressionNet(MLPNet, NNRegressor):
    """``NNRegressor`` with MLP's ``alpha``."""
