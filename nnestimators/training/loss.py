"""The loss of one batch: what the criterion is given, and weighted means.

``batch_loss`` is the estimators' ``get_loss``. The module's outputs reach
the criterion as skorch gives them (the log of a softmax's probabilities to
``NLLLoss``, see ``outputs.py``), decided once per fit on its first batch;
with sample or class weights the mean is weighted, as torch's mean would be
for class-weighted or ``ignore_index`` losses.
"""

import warnings

import torch
from skorch.utils import to_tensor

from ..data import indexed_device
from ..overrides import reduces_own_losses
from ..session import current_session
from .outputs import apply_loss_input, loss_input, recognise

# Losses over class indices whose mean torch weights by weight[y], ignore_index.
_CLASS_INDEX_LOSSES = (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss)
_ONE_LOSS_FOR_WEIGHTS = (
    "sample_weight or class_weight was given, but the criterion {!r} returned "
    "one loss for the whole batch, so the weights cannot apply. Use a criterion "
    "that returns one loss per sample (torch's loss classes do: the estimator "
    "builds them with reduction='none'), or fit without weights."
)


def y_pred_dtype(y_pred):
    return y_pred.dtype if isinstance(y_pred, torch.Tensor) else None


def batch_loss(net, y_pred, y_true, training):
    """The loss of one batch (see ``NNEstimator.get_loss``)."""
    session = current_session(net)
    device = session.torch_device if session else indexed_device(net.device_)
    if not (isinstance(y_true, torch.Tensor) and y_true.device == device):
        y_true = to_tensor(y_true, device=net.device_)
    if isinstance(y_pred, torch.Tensor) and y_pred.shape != y_true.shape:
        if y_pred.numel() == y_true.numel() and y_true.dim() >= 1:
            y_pred = y_pred.reshape(y_true.shape)
    if y_pred_dtype(y_pred) is torch.float64 and y_true.dtype is torch.float32:
        # Float targets are stored in float32; a float64 module's loss (and
        # MLP's L-BFGS line search on it) needs them in its precision.
        y_true = y_true.double()
    if session is None:
        transform = loss_transform(net, y_pred, announce=False)
    elif session.loss_input_known:
        transform = session.loss_input
    else:
        transform = loss_transform(net, y_pred, announce=True)
        if transform is not _UNDECIDED:
            session.loss_input, session.loss_input_known = transform, True
    if transform is not None and transform is not _UNDECIDED:
        y_pred = apply_loss_input(transform, y_pred)
    criterion = net.criterion_
    state = session.batch if session else None
    weights = None if state is None else state.weights
    if weights is None:
        losses = criterion(y_pred, y_true)
    else:
        losses = per_sample_losses(criterion, y_pred, y_true)
    if not isinstance(losses, torch.Tensor) or losses.dim() == 0:
        if weights is not None:
            raise ValueError(_ONE_LOSS_FOR_WEIGHTS.format(criterion))
        return losses
    if session.reduces_own_losses if session else reduces_own_losses(net):
        return losses  # skorch's recipe: the override reduces them
    if weights is None and session is None:
        if getattr(criterion, "reduction", None) == "none":
            return losses  # outside a fit, as reported (skorch's loss_scoring)
    encoded = state is not None and state.encoded
    counts = counted_targets(criterion, y_true, losses, encoded=encoded)
    if counts is not None:
        return mean_over_counted(losses, counts, weights)
    if losses.dim() > 1:
        losses = losses.reshape(len(losses), -1).mean(dim=1)
    if weights is None or len(weights) != len(losses):
        return losses.mean()
    total = weights.sum().clamp_min(torch.finfo(losses.dtype).tiny)
    return (losses * weights).sum() / total


# The outputs of this batch cannot tell yet (no graph): ask again next batch.
_UNDECIDED = object()


def loss_transform(net, y_pred, announce):
    """What ``get_loss`` does to the outputs before the criterion sees them.

    The kind of outputs (``module_outputs_``) is recognised on the first
    batch that shows it; ``announce`` gives the one-line notice when the
    default loss is adapted to them (once per fit).
    """
    target = net._target()
    if target.task != "classification":
        return None
    independent = target.kind in ("binary", "multilabel")
    kind = net.__dict__.get("module_outputs_")
    guessed = False
    if kind is None:
        kind, guessed = recognise(y_pred, independent)
        if kind is None:
            return _UNDECIDED
        net.module_outputs_ = kind
    transform, notice = loss_input(
        kind,
        net.criterion_,
        adaptable=not isinstance(net.criterion, torch.nn.Module),
        independent=independent,
        by_values=guessed,
    )
    if notice and announce:
        warnings.warn(notice, UserWarning, stacklevel=4)
    return transform


def counted_targets(criterion, y_true, losses, encoded):
    """What torch's ``reduction="mean"`` divides by, per loss entry, where it
    is not one per entry: ``weight[y]`` for a class-weighted
    ``CrossEntropyLoss``/``NLLLoss``, 0 for targets equal to ``ignore_index``.
    None where the plain mean is torch's mean."""
    if not isinstance(criterion, _CLASS_INDEX_LOSSES):
        return None
    if not isinstance(y_true, torch.Tensor) or y_true.is_floating_point():
        return None  # class probabilities: torch averages over the batch
    weight, ignore = criterion.weight, criterion.ignore_index
    # Encoded class codes are never negative: the default -100 cannot occur.
    may_ignore = not (encoded and ignore < 0)
    if weight is None and not may_ignore:
        return None
    if not may_ignore:
        return weight.to(losses.dtype)[y_true]
    # torch.where, not a cast of the mask: no whole-tensor copy per batch.
    kept = y_true != ignore
    zero = losses.new_zeros(())
    if weight is None:
        return torch.where(kept, losses.new_ones(()), zero)
    return torch.where(
        kept, weight.to(losses.dtype)[y_true.masked_fill(~kept, 0)], zero
    )


def per_sample_losses(criterion, y_pred, y_true):
    """The criterion's losses per sample, for weighting.

    torch's losses read ``reduction`` when called: a ``"mean"`` criterion
    gives its unreduced losses for this call and reports ``"mean"`` again.
    """
    if getattr(criterion, "reduction", None) != "mean":
        return criterion(y_pred, y_true)
    criterion.reduction = "none"
    try:
        return criterion(y_pred, y_true)
    finally:
        criterion.reduction = "mean"


def mean_over_counted(losses, counts, weights):
    """torch's weighted mean; per-sample weights scale each sample's share."""
    if losses.dim() > 1:
        losses = losses.reshape(len(losses), -1).sum(dim=1)
        counts = counts.reshape(len(counts), -1).sum(dim=1)
    if weights is not None and len(weights) == len(losses):
        losses, counts = losses * weights, counts * weights
    # A batch of ignored targets only contributes nothing (torch: NaN).
    return losses.sum() / counts.sum().clamp_min(torch.finfo(losses.dtype).tiny)
