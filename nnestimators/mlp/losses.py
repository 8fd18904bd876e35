"""MLP's losses, one value per sample; the estimators average them per batch.

Each returns per-sample losses (``reduction`` is ``"none"``), so that the
package's ``get_loss`` takes their mean, or their weighted mean with
``sample_weight``, as MLP does.
"""

import torch
from torch import nn


class _PerSampleLoss(nn.Module):
    def __init__(self, reduction="none"):
        super().__init__()
        self.reduction = reduction


class SummedBinaryLogLoss(_PerSampleLoss):
    """Binary log-loss summed over labels: MLP's loss for multilabel targets
    (a logistic unit per label)."""

    def forward(self, logits, y):
        y = y.to(logits.dtype)
        losses = nn.functional.binary_cross_entropy_with_logits(
            logits, y, reduction="none"
        )
        return losses if losses.dim() == 1 else losses.sum(dim=1)


class HalfSquaredError(_PerSampleLoss):
    """MLP's ``squared_error``.

    Its value is half the squared error averaged over outputs, but MLP's
    gradient is that of the sum over outputs (the output delta is
    ``y_pred - y``); with several outputs both are reproduced.
    """

    def forward(self, y_pred, y):
        y = y.to(y_pred.dtype).reshape(y_pred.shape)
        diff = y_pred - y
        summed = 0.5 * (diff * diff).reshape(len(diff), -1).sum(dim=1)
        n_outputs = diff[0].numel() if len(diff) else 1
        if n_outputs == 1:
            return summed
        return summed + (summed / n_outputs - summed).detach()


class HalfPoissonDeviance(_PerSampleLoss):
    """MLP's ``poisson`` loss on the log link (its output activation is exp)."""

    def forward(self, log_mean, y):
        y = y.to(log_mean.dtype).reshape(log_mean.shape)
        constant = torch.xlogy(y, y) - y  # in MLP's value, not in its gradient
        losses = torch.exp(log_mean) - y * log_mean + constant
        return losses.reshape(len(losses), -1).sum(dim=1)


def poisson_mean(log_mean):
    """MLP's ``exp`` output activation for ``loss="poisson"`` (a named function,
    so that checkpoints can name it)."""
    return torch.exp(log_mean)
