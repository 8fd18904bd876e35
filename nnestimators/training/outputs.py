"""What a classifier's module returns, and how the loss and ``predict_proba`` take it.

skorch's modules often end in ``softmax`` (skorch's default ``NLLLoss`` is
applied to the log of those probabilities), ``sigmoid`` (with ``BCELoss``)
or ``log_softmax``. The kind of output is recognised once, on the first
training batch of a fit, from the output's autograd graph: the last
operation before any shape-only step is ``softmax``, ``log_softmax`` or
``sigmoid``, for ``F.softmax`` in ``forward`` and ``nn.Softmax`` alike. Where
no graph names it (a compiled module, a softmax written out by hand, no
gradient), the values decide for class scores: rows of non-negative numbers
summing to one are probabilities, rows whose exponentials do are
log-probabilities (not by chance in practice: a layer's outputs do not
sum to one over every row of a batch), and a warning says so.

The kind decides what the criterion is given (``loss_input``) and what
``predict_proba`` returns (``to_probabilities``); the module's outputs are
never changed otherwise.
"""

import torch

LOGITS = "logits"
PROBABILITIES = "probabilities"
LOG_PROBABILITIES = "log_probabilities"

# Graph nodes that only move values around: the operation before them made
# the output.
_SHAPE_ONLY = frozenset(
    {
        "ViewBackward0",
        "UnsafeViewBackward0",
        "ReshapeAliasBackward0",
        "SqueezeBackward0",
        "SqueezeBackward1",
        "SqueezeBackward2",
        "UnsqueezeBackward0",
        "SelectBackward0",
        "SliceBackward0",  # rows of a batch (class columns: the values tell)
        "IndexBackward0",
        "UnbindBackward0",
        "SplitBackward0",
        "AliasBackward0",
        "CloneBackward0",
        "ToCopyBackward0",
        "PermuteBackward0",
        "TransposeBackward0",
        "TBackward0",
        "ExpandBackward0",
    }
)
_CLASS_SCORES = {
    "SoftmaxBackward0": PROBABILITIES,
    "LogSoftmaxBackward0": LOG_PROBABILITIES,
}
_INDEPENDENT_SCORES = {"SigmoidBackward0": PROBABILITIES}
# How far a row of probabilities may sum from one (float32 softmax over
# thousands of classes stays far inside).
_TOLERANCE = 1e-3


def last_operation(output):
    """The name of the autograd node that made ``output``, shape steps skipped."""
    node = getattr(output, "grad_fn", None)
    while node is not None and type(node).__name__ in _SHAPE_ONLY:
        inputs = [fn for fn, _ in node.next_functions if fn is not None]
        node = inputs[0] if inputs else None
    return None if node is None else type(node).__name__


def recognise(output, independent=False):
    """Return ``(kind, by_values)`` for a module's output tensor.

    Parameters
    ----------
    output : torch.Tensor
        The module's output for one batch, classes along dimension 1.
    independent : bool
        Whether the outputs score classes independently (binary or
        multilabel: ``sigmoid``); otherwise they score classes against each
        other (``softmax``).

    Returns
    -------
    kind : {"logits", "probabilities", "log_probabilities"} or None
        None when neither the graph nor the values can tell (independent
        scores without a graph).
    by_values : bool
        Whether the values, not the graph, decided.
    """
    if not isinstance(output, torch.Tensor) or not output.is_floating_point():
        return LOGITS, False
    operation = last_operation(output)
    if independent:
        if operation is None:
            return None, False
        return _INDEPENDENT_SCORES.get(operation, LOGITS), False
    known = _CLASS_SCORES.get(operation)
    values = _kind_by_values(output.detach())
    if known is not None:
        # The graph names the operation; the values confirm it acted over
        # the classes (a softmax over the batch is not probabilities).
        return (known, False) if values == known else (LOGITS, False)
    # No graph, or one that ends elsewhere (a softmax written out, a compiled
    # module): the values decide, and say so.
    return values, values != LOGITS


def _kind_by_values(scores):
    if scores.dim() < 2 or scores.shape[1] < 2 or scores.numel() == 0:
        return LOGITS
    # Half-precision softmax rows sum to one only within their rounding.
    rounding = 4 * scores.shape[1] ** 0.5 * torch.finfo(scores.dtype).eps
    tolerance = max(_TOLERANCE, rounding)
    scores = scores.double()
    if bool((scores >= 0).all()) and _rows_sum_to_one(scores, tolerance):
        return PROBABILITIES
    if bool((scores <= 0).all()) and _rows_sum_to_one(scores.exp(), tolerance):
        return LOG_PROBABILITIES
    return LOGITS


def _rows_sum_to_one(scores, tolerance):
    return bool(((scores.sum(dim=1) - 1).abs() <= tolerance).all())


# -- the loss ------------------------------------------------------------------


def expected_input(criterion):
    """What ``criterion`` takes: ``"logits"``, ``"log_probabilities"``,
    ``"probabilities"``, or None for a loss this module does not know."""
    criterion = getattr(criterion, "_orig_mod", criterion)  # torch.compile
    if isinstance(criterion, torch.nn.NLLLoss):
        return LOG_PROBABILITIES
    if isinstance(criterion, torch.nn.CrossEntropyLoss | torch.nn.BCEWithLogitsLoss):
        return LOGITS
    if isinstance(criterion, torch.nn.BCELoss):
        return PROBABILITIES
    return None


# What get_loss does to the outputs before the criterion sees them.
LOG = "log"  # probabilities -> log-probabilities (skorch's NLLLoss convention)
LOGIT = "logit"  # probabilities of independent classes -> logits


def loss_input(kind, criterion, adaptable, independent, by_values=False):
    """Return ``(transform, notice)`` for outputs of ``kind`` and ``criterion``.

    ``transform`` is None, ``LOG`` or ``LOGIT``; ``notice`` is a warning to
    give once, or None. ``adaptable`` says whether the criterion is the class
    the estimator builds (the default, or a class given), whose input may be
    adapted; an instance the user configured is taken as given.
    ``by_values`` says that the values, not the graph, told the kind: the
    notice then says so, whatever the criterion.
    """
    transform, notice = _loss_input(kind, criterion, adaptable, independent)
    if not by_values or kind == LOGITS:
        return transform, notice
    told = (
        f"The module's outputs were recognised as {kind} by their values (no "
        "softmax or log_softmax ends forward's graph, yet every row sums to one"
        + (" once exponentiated" if kind == LOG_PROBABILITIES else "")
        + ")."
    )
    return transform, f"{told} {notice}" if notice else told


def _loss_input(kind, criterion, adaptable, independent):
    expects = expected_input(criterion)
    name = type(getattr(criterion, "_orig_mod", criterion)).__name__
    if expects == LOG_PROBABILITIES:
        if kind == LOG_PROBABILITIES:
            return None, None
        if kind == PROBABILITIES:
            return LOG, None  # skorch's convention for NLLLoss
        return LOG, (
            f"criterion={name} takes the log of probabilities (skorch's "
            "convention) or log-probabilities, but the module's outputs are "
            "neither; end forward with softmax (or log_softmax), or use "
            "criterion=torch.nn.CrossEntropyLoss for logits."
        )
    if expects != LOGITS or kind != PROBABILITIES:
        # Log-probabilities are their own log-softmax: CrossEntropyLoss on
        # them is NLLLoss exactly.
        return None, None
    explicit = "torch.nn.BCELoss" if independent else "torch.nn.NLLLoss"
    last = "sigmoid" if independent else "softmax"
    if adaptable:
        trains = "BCELoss on them" if independent else "NLLLoss on their log"
        return (LOGIT if independent else LOG), (
            f"The module's outputs are probabilities ({last}): trained with "
            f"{trains}, as skorch trains them, and returned unchanged by "
            f"predict_proba. Pass criterion={explicit} to say so."
        )
    return None, (
        f"criterion={name}(...) applies its own {last} to the module's "
        "outputs, which are probabilities already: it trains poorly. Pass "
        f"criterion={explicit} with the same arguments (skorch's convention "
        f"for probabilities), or end forward without {last}."
    )


def apply_loss_input(transform, y_pred):
    """``y_pred`` as the criterion takes it, for a transform of ``loss_input``."""
    if transform == LOG:
        # skorch's NeuralNetClassifier.get_loss, to the letter.
        return torch.log(y_pred + torch.finfo(y_pred.dtype).eps)
    if transform == LOGIT:
        return torch.logit(y_pred, eps=torch.finfo(y_pred.dtype).eps)
    return y_pred


# -- prediction ----------------------------------------------------------------


def to_probabilities(kind, raw):
    """``raw`` outputs of ``kind`` as probabilities, or None for logits."""
    if kind == PROBABILITIES:
        return raw
    if kind == LOG_PROBABILITIES:
        return raw.exp()
    return None


def full_precision(output):
    """Outputs as float32, or float64 where the module computes in float64."""
    return output if output.dtype == torch.float64 else output.float()
