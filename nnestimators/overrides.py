"""Which of skorch's steps a user's subclass (or instance) replaces.

Several decisions of a fit or a prediction depend on it, and sit here
together: a subclass that builds its own module, criterion or optimizer gets
its parameter names checked after it built them (skorch's order); one that
replaces a step of skorch's prediction predicts through skorch's path; one
that overrides ``get_loss`` with ``criterion__reduction="none"`` (skorch's
sample-weight recipe) reduces the per-sample losses itself; a ``dataset=`` of
the user's own takes the rows in and out of the network.
"""

import functools

from skorch.dataset import Dataset

BUILDING_STEPS = ("initialize_module", "initialize_criterion", "initialize_optimizer")
PREDICTION_STEPS = ("forward_iter", "get_dataset", "get_iterator", "evaluation_step")
_LIBRARIES = frozenset({"skorch", "nnestimators"})


@functools.cache
def user_steps(cls):
    """The methods of ``cls`` defined outside skorch and nnestimators."""
    steps = set()
    for name in (*BUILDING_STEPS, *PREDICTION_STEPS, "get_loss"):
        owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
        module = getattr(owner, "__module__", "") or ""
        if module.split(".")[0] not in _LIBRARIES:
            steps.add(name)
    return frozenset(steps)


def builds_own_components(net):
    """Whether the net's class builds its own modules, criteria or optimizers."""
    return bool(user_steps(type(net)) & set(BUILDING_STEPS))


def predicts_through_skorch(net):
    """Whether arrays must be predicted through skorch's ``forward_iter``.

    The in-memory path predicts in fixed chunks straight through ``infer``;
    a subclass (or the instance, as skorch's scoring cache does) that
    replaces ``forward_iter``, ``get_dataset``, ``get_iterator`` or
    ``evaluation_step`` is honoured by going through skorch's steps.
    """
    replaced = user_steps(type(net)) & set(PREDICTION_STEPS)
    return bool(replaced) or any(name in net.__dict__ for name in PREDICTION_STEPS)


def reduces_own_losses(net):
    """skorch's sample-weight recipe: ``criterion__reduction="none"`` and a
    ``get_loss`` override that weights what ``super().get_loss`` returns."""
    reduction = net.get_params_for("criterion").get("reduction")
    return reduction == "none" and "get_loss" in user_steps(type(net))


def uses_custom_dataset(net):
    """A ``dataset=`` class or instance other than skorch's, or ``dataset__*``:
    rows reach the network through the user's dataset, for fit and predict."""
    return net.dataset is not Dataset or bool(net.get_params_for("dataset"))
