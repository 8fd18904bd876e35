"""Checkpoints of the drop-ins: written by ``net_``, read back as the drop-in.

``net_`` writes the checkpoints (``checkpoint_dir``), with the drop-in's
own state beside its weights: ``MLPRecord``, plain data that the drop-in
reads back in ``from_checkpoint``. Loading trusts the package's classes
that the nets name (their module, losses, optimizers and ``MLPControl``).
"""

from ..base import NNEstimator
from ..checkpoints import load_checkpoint
from ..saved_state import estimator_family, library_classes
from .control import MLPControl
from .losses import (
    HalfPoissonDeviance,
    HalfSquaredError,
    SummedBinaryLogLoss,
    poisson_mean,
)
from .nets import MLPNet
from .network import MLPNetwork
from .solvers import MLPSGD, MLPAdam, ScipyLBFGS

# The package's classes a drop-in's checkpoint names, besides the modules.
CHECKPOINT_LIBRARY = (
    MLPNetwork,
    MLPSGD,
    MLPAdam,
    ScipyLBFGS,
    MLPControl,
    HalfSquaredError,
    HalfPoissonDeviance,
    SummedBinaryLogLoss,
)
# Parameters of the drop-in that also configure a loaded net_.
NET_OVERRIDES = ("device", "n_threads", "checkpoint_dir")


class MLPRecord:
    """What a checkpoint of ``net_`` keeps of its drop-in besides the weights.

    Parameters
    ----------
    estimator : str
        ``"MLPClassifier"`` or ``"MLPRegressor"``.
    params : dict
        The drop-in's parameters (``checkpoint_dir`` left out: a checkpoint
        never decides where a program writes).
    fitted : dict
        Its fitted attributes other than the weights and the solver state.
    state : MLPState or None
        The stochastic solvers' state.
    lbfgs : ScipyLBFGS or None
        The lbfgs solver, whose result gives ``n_iter_`` and ``loss_``.
    """

    def __init__(self, estimator, params, fitted, state=None, lbfgs=None):
        self.estimator = estimator
        self.params = params
        self.fitted = fitted
        self.state = state
        self.lbfgs = lbfgs

    def to_plain(self):
        """The record as plain data."""
        fitted = dict(self.fitted)
        result = None if self.lbfgs is None else self.lbfgs.result_
        if result is not None:
            fitted["n_iter_"] = min(int(result.nit), self.params["max_iter"])
            fitted["loss_"] = float(result.fun)
        return {
            "estimator": self.estimator,
            "params": self.params,
            "fitted": fitted,
            "state": None if self.state is None else self.state.to_plain(),
        }


def load_drop_in_net(path, estimator, *, trusted=None, overrides=None):
    """The ``net_`` of a drop-in's checkpoint, and the drop-in's record.

    Parameters
    ----------
    path : str or path-like
        A fit's checkpoint folder, or a ``checkpoint_dir`` holding one fit.
    estimator : str
        The drop-in's class name the checkpoint must have been written for.
    trusted : list of classes, default=None
        Classes besides the package's that the checkpoint may name.
    overrides : dict, default=None
        Parameters of the net replacing the saved ones (``device``, ...).

    Returns
    -------
    net : MLPNet
    record : dict
        ``MLPRecord.to_plain()`` as it was written.
    """
    net = load_checkpoint(
        MLPNet,
        path,
        family=estimator_family(NNEstimator),
        library=[*library_classes(), *CHECKPOINT_LIBRARY],
        trusted=[*(trusted or []), poisson_mean],
        **(overrides or {}),
    )
    record = vars(net).pop("mlp_record_", None)
    if record is None or record.get("estimator") != estimator:
        found = "no drop-in" if record is None else record.get("estimator")
        raise ValueError(
            f"The checkpoint in {path!r} was written by {found}, not by a {estimator}."
        )
    return net, record
