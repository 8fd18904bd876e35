"""Shapes the data implies, handed to modules whose constructors ask for them."""

import inspect

import torch


def shape_kwargs(module, user_kwargs, shapes):
    """Return the module's constructor arguments with inferred shapes filled in.

    Parameters
    ----------
    module : type or torch.nn.Module
        The ``module`` parameter: a class, or an instance that will be rebuilt.
    user_kwargs : dict
        The ``module__*`` arguments; they always win.
    shapes : dict
        Candidate values, e.g. ``{"n_features": 30, "input_shape": (30,),
        "n_outputs": 2}``. Only names the constructor takes are passed.
    """
    accepted = _constructor_arguments(module)
    kwargs = dict(user_kwargs)
    for name, value in shapes.items():
        if name in accepted and name not in kwargs:
            kwargs[name] = value
    return kwargs


def _constructor_arguments(module):
    cls = type(module) if isinstance(module, torch.nn.Module) else module
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return set()
    return {
        name
        for name, p in parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
