"""Building the network: module, criterion and optimizer from the parameters.

The module's constructor gets the shapes inferred from the data
(``n_features``, ``input_shape``, ``n_outputs``) when it asks for them; a
module or criterion given as an instance is copied, never trained in place;
optimizers use torch's fused or foreach kernels where they exist.
"""

import copy
import inspect

import numpy as np
import torch

from .data import EMBEDDINGS, net_layers
from .optimizers import optimizer_class
from .shapes import shape_kwargs


def module_shapes(net):
    """The shapes the data implies, for the module's constructor."""
    shapes = {}
    input_shape = net.__dict__.get("input_shape_")
    if isinstance(input_shape, tuple):  # not a dict of arrays' shapes
        shapes["n_features"] = int(np.prod(input_shape))
        shapes["input_shape"] = input_shape
    if "n_outputs_" in net.__dict__:
        shapes["n_outputs"] = net.n_outputs_
    return shapes


def build_module(net):
    """``module_`` from the ``module`` parameter and ``module__*`` arguments."""
    user_kwargs = net.get_params_for("module")
    kwargs = shape_kwargs(net.module, user_kwargs, module_shapes(net))
    if isinstance(net.module, torch.nn.Module):
        if user_kwargs:
            module = type(net.module)(**kwargs)
        else:
            # A copy: every fit starts from the instance's own weights (a
            # pretrained network is fine-tuned), and the instance, a
            # parameter, is never trained.
            module = copy.deepcopy(net.module)
    else:
        try:
            module = net.module(**kwargs)
        except TypeError as exc:
            raise TypeError(
                f"Could not build the module {net.module!r}: {exc}. Before fit, "
                "the shapes inferred from the data (n_features, input_shape, "
                "n_outputs) are unknown: pass them as module__<name>=... or call fit."
            ) from exc
    if not isinstance(module, torch.nn.Module):
        raise TypeError(
            f"module must be a torch.nn.Module class or a callable returning "
            f"a module; {net.module!r} returned {type(module).__name__}."
        )
    return module


def build_criterion(net):
    """``criterion_`` as skorch builds it, with the reduction it reports.

    Multilabel targets train the default ``CrossEntropyLoss`` as
    ``BCEWithLogitsLoss``.
    """
    kwargs = net.get_params_for("criterion")
    criterion = net._target().loss_for(net.criterion)
    if isinstance(criterion, torch.nn.Module):
        return type(criterion)(**kwargs) if kwargs else copy.deepcopy(criterion)
    if is_loss_function(criterion):
        return criterion  # a function of (y_pred, y_true): used as it is
    return criterion(**kwargs)


def build_optimizer(net):
    """``optimizer_``, with fused or foreach kernels where torch has them."""
    named_parameters = list(net.get_all_learnable_params())
    args, kwargs = net.get_params_for_optimizer("optimizer", named_parameters)
    optimizer = optimizer_class(net)
    sparse = any(
        isinstance(layer, EMBEDDINGS) and layer.sparse for layer in net_layers(net)
    )
    if sparse:  # fused and foreach kernels refuse sparse gradients (at step())
        return optimizer(*args, **kwargs)
    if "fused" in accepted_arguments(optimizer) and not (
        {"fused", "foreach"} & set(kwargs)
    ):
        try:
            return optimizer(*args, fused=True, **kwargs)
        except (RuntimeError, ValueError, TypeError):
            return optimizer(*args, foreach=True, **kwargs)
    return optimizer(*args, **kwargs)


def announce_reinit(net, kind, names, reason):
    """skorch's message on re-initializing built components (verbose only)."""
    kwargs = {}
    for name in names:
        kwargs.update(net.get_params_for(name))
    built = any(
        isinstance(net.__dict__.get(name + "_"), torch.nn.Module) for name in names
    )
    if (kwargs or reason or built) and net.initialized_ and net.verbose:
        print(reason or net._format_reinit_msg(kind, kwargs))


def place_components(net, names):
    """skorch's step after building: each component to the device, compiled."""
    for name in names:
        component = getattr(net, name + "_")
        if isinstance(component, torch.nn.Module):
            component = component.to(net.device_)
            setattr(net, name + "_", net.torch_compile(component, name=name))


def accepted_arguments(factory):
    """The parameters of ``factory``'s signature (empty when it has none)."""
    try:
        return inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}


def is_loss_function(criterion):
    """A plain function of ``(y_pred, y_true)``, not a loss class to build."""
    if isinstance(criterion, type) or not inspect.isfunction(criterion):
        return False
    required = [
        p
        for p in accepted_arguments(criterion).values()
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) >= 2
