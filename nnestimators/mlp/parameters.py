"""MLP's parameters: their valid values, checked at each fit, and their storage."""

import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, Options, StrOptions

# MLP's parameters and their valid values, checked at each fit.
PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
    "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [
        Interval(Integral, 1, None, closed="left"),
        Options(Real, {np.inf}),
    ],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "device": [str, torch.device, None],
    "n_threads": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
        None,
    ],
    "checkpoint_dir": [str, os.PathLike, None],
}


def store_parameters(estimator, arguments):
    """Store a constructor's arguments untouched, as scikit-learn requires.

    Parameters
    ----------
    estimator : object
        The estimator being built.
    arguments : dict
        The constructor's ``locals()``.
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)
