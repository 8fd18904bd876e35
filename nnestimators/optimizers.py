"""The default optimizer: Adam at Adam's rates, SGD at SGD's.

Adam at ``lr=1e-3`` is a good first fit without tuning. skorch's default is
SGD, and skorch's notebooks and guides pass SGD's rates (``lr=0.1``); given to
Adam, such a rate moves every weight by about ``lr`` per step and training
collapses (the notebooks' softmax MLP on digits: 0.16 accuracy, 0.95 with SGD).
So the default optimizer reads its arguments: SGD's own arguments
(``momentum``, ``nesterov``, ``dampening``) or a rate of 0.05 or more choose
SGD, as skorch trains; otherwise, or with Adam's own arguments (``betas``,
``amsgrad``), Adam. Passing ``optimizer=torch.optim.Adam`` or
``optimizer=torch.optim.SGD`` fixes the choice.
"""

import inspect

import torch

SGD_SIZED_LR = 0.05
# skorch's batch size: the one its SGD rates are tuned for.
SKORCH_BATCH_SIZE = 128


def _arguments(optimizer):
    return set(inspect.signature(optimizer).parameters) - {"self", "params", "lr"}


# The arguments only one of the two takes: they say which one the user means.
_SGD_ONLY = frozenset(_arguments(torch.optim.SGD) - _arguments(torch.optim.Adam))
_ADAM_ONLY = frozenset(_arguments(torch.optim.Adam) - _arguments(torch.optim.SGD))


class AdamOrSGD:
    """Adam, or SGD when the arguments are SGD's (the estimators' default).

    Calling it builds ``torch.optim.SGD`` when ``momentum``, ``nesterov`` or
    ``dampening`` is given, or when ``lr`` is 0.05 or more and none of
    Adam's own arguments (``betas``, ``amsgrad``) is; otherwise
    ``torch.optim.Adam``. The result is a plain torch optimizer:
    ``net.optimizer_`` shows which one a fit uses. Calling it takes torch's
    optimizer arguments: ``params``, ``lr`` (default 1e-3) and the chosen
    optimizer's others.

    Examples
    --------
    >>> import torch
    >>> from nnestimators.optimizers import AdamOrSGD
    >>> weights = [torch.nn.Parameter(torch.zeros(2))]
    >>> type(AdamOrSGD(weights, lr=1e-3)).__name__
    'Adam'
    >>> type(AdamOrSGD(weights, lr=0.1)).__name__
    'SGD'
    """

    def __new__(cls, params, lr=1e-3, **kwargs):
        """Build the chosen optimizer.

        Parameters
        ----------
        params : iterable
            The parameters to optimize, or parameter groups, as torch
            takes them.
        lr : float, default=1e-3
            The learning rate.
        **kwargs : dict
            The chosen optimizer's other arguments.

        Returns
        -------
        optimizer : torch.optim.Adam or torch.optim.SGD
        """
        return cls.chooses(lr, kwargs)(params, lr=lr, **kwargs)

    @staticmethod
    def chooses(lr, arguments):
        """The torch optimizer class built for ``lr`` and the other ``arguments``."""
        given = set(arguments)
        if given & _SGD_ONLY:
            return torch.optim.SGD
        if given & _ADAM_ONLY:
            return torch.optim.Adam
        if sgd_sized(lr):
            return torch.optim.SGD
        return torch.optim.Adam


def sgd_sized(lr):
    """Whether ``lr`` is a rate meant for SGD (0.05 or more)."""
    return isinstance(lr, int | float) and lr >= SGD_SIZED_LR


def learning_rate(net):
    """The rate ``net``'s optimizer gets: ``optimizer__lr``, else ``lr``."""
    return net.get_params_for("optimizer").get("lr", net.lr)


def optimizer_class(net):
    """The optimizer class ``net`` builds: its ``optimizer``, resolved."""
    if net.optimizer is not AdamOrSGD:
        return net.optimizer
    given = net.get_params_for("optimizer")
    return AdamOrSGD.chooses(given.get("lr", net.lr), given)


def trains_at_sgd_rate(net):
    """Whether ``net`` trains with SGD at an SGD-sized rate, as skorch does.

    Its ``batch_size="auto"`` is then skorch's 128: SGD's noise grows with
    ``lr / batch_size``, so a rate tuned on skorch's batches is too noisy on
    smaller ones (skorch's MNIST notebook at ``lr=0.1``: 0.82 to 0.98
    accuracy over seeds on batches of 32, 0.95 to 0.96 on 128, as skorch).
    """
    return optimizer_class(net) is torch.optim.SGD and sgd_sized(learning_rate(net))
