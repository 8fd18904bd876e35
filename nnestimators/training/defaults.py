"""The callbacks built from the estimators' parameters, and what the user's need.

``default_callbacks(net)`` is what the estimators' ``_default_callbacks``
returns: skorch's epoch timer and loss averages, then the training control
of ``training/callbacks.py`` built from the plain parameters. The rest
answers questions about the ``callbacks`` parameter: which of the user's
callbacks read validation scores (the fit then holds out 10% for them, as
for ``patience``), whether one of them stops training or prints.
"""

from skorch.callbacks import EarlyStopping, EpochTimer, GradientNormClipping, PrintLog

from .callbacks import (
    BestModel,
    DivergenceCheck,
    EpochMetrics,
    KerasProgress,
    LossAverage,
    LRSchedule,
)
from .metrics import make_scorers
from .monitor import canonical_key, lower_is_better
from .sklearn_callbacks import SKLEARN_CALLBACKS, EpochTasks
from .skorch_callbacks import SkorchAccuracy, needs_validation


def default_callbacks(net):
    """The default callbacks of ``net``, named as ``callbacks_`` lists them."""
    monitor = canonical_key(net.monitor)
    lower = monitor_lower_is_better(net)
    callbacks = [
        ("epoch_timer", EpochTimer()),
        ("train_loss", LossAverage(name="train_loss", on_train=True)),
        ("valid_loss", LossAverage(name="valid_loss")),
        ("metrics", EpochMetrics(scorers(net), net.metrics is not None)),
    ]
    if net._target().task == "classification":  # skorch's valid_acc
        callbacks.append(("valid_acc", SkorchAccuracy()))
    schedule = LRSchedule(
        net.lr_schedule,
        monitor,
        net.get_params_for("lr_schedule"),
        lower_is_better=lower,
    )
    callbacks += [
        ("lr_schedule", schedule),
        # Always present (None clips nothing), so callbacks__* reach it.
        ("gradient_clip", GradientNormClipping(net.gradient_clip)),
        ("divergence", DivergenceCheck()),
        (
            "best_model",
            BestModel(
                monitor,
                net.patience,
                net.min_delta,
                net.restore_best_weights and not user_has(net, EarlyStopping),
                net.checkpoint_dir,
                required=monitor_required(net),
                lower_is_better=lower,
            ),
        ),
    ]
    if SKLEARN_CALLBACKS:
        callbacks.append(("sklearn_callbacks", EpochTasks()))
    if not user_has(net, PrintLog):  # a user's PrintLog replaces it
        callbacks.append(("print_log", KerasProgress(net.verbose, monitor)))
    return callbacks


def metric_names(net):
    """The ``metrics`` parameter, or the task's default metrics for None."""
    if net.metrics is None:
        return list(net._target().default_metrics)
    return net.metrics


def scorers(net):
    """``{name: scorer}`` for the metrics (empty while they are invalid: the
    checks at fit report that)."""
    try:
        return make_scorers(metric_names(net), net._target().metric_context)
    except ValueError:
        return {}


def monitor_lower_is_better(net):
    """Direction of ``monitor``: what the metrics or a user's scoring says."""
    return lower_is_better(
        canonical_key(net.monitor), scorers(net), user_callbacks(net)
    )


def user_callbacks(net):
    """The callbacks of the ``callbacks`` parameter, without their names."""
    callbacks = net.callbacks if isinstance(net.callbacks, list | tuple) else []
    return [item[1] if isinstance(item, tuple) else item for item in callbacks]


def user_has(net, kind):
    return any(isinstance(callback, kind) for callback in user_callbacks(net))


def uses_monitor(net):
    """Whether early stopping, checkpoints or a plateau schedule need ``monitor``."""
    return (
        net.patience is not None
        or net.checkpoint_dir is not None
        or net.lr_schedule == "plateau"
    )


def monitors_validation(net):
    """Whether patience, checkpoints or a plateau schedule watch a valid_* key."""
    return uses_monitor(net) and canonical_key(net.monitor).startswith("valid_")


def monitor_required(net):
    """Whether a fit that does not record ``monitor`` is an error.

    Yes when something needs it, or when the user chose it (a monitor other
    than the default) for ``restore_best_weights``.
    """
    chosen = canonical_key(net.monitor) != "valid_loss" and net.restore_best_weights
    return uses_monitor(net) or chosen


def callbacks_needing_validation(net):
    """The user's callbacks that read validation scores, described.

    skorch's ``EarlyStopping`` and ``Checkpoint`` on ``valid_*`` keys (their
    defaults), scoring callbacks scored on validation data, ``LRScheduler``
    with ``ReduceLROnPlateau`` on a ``valid_*`` key, any callback with a
    ``valid_*`` ``monitor``, and skorch's ``valid_acc`` configured through
    ``callbacks__valid_acc__*``; with the ``callbacks__<name>__*``
    parameters the fit will set on them.
    """
    if net.callbacks == "disable":  # skorch's word for no callbacks at all
        return []
    mine = {id(callback) for callback in user_callbacks(net)}
    routed = net.get_params(deep=False)
    reasons = []
    for name, callback in net._uniquely_named_callbacks():
        if id(callback) not in mine:
            continue
        callback = routed.get(f"callbacks__{name}", callback)  # replaced
        why = needs_validation(callback, net.get_params_for(f"callbacks__{name}"))
        if why:
            reasons.append(f"{type(callback).__name__}({why})")
    configured = net.get_params_for("callbacks__valid_acc")
    classifies = net._target().task == "classification"
    if configured and not configured.get("on_train") and classifies:
        if routed.get("callbacks__valid_acc", True) is not None:
            reasons.append("valid_acc(" + ", ".join(sorted(configured)) + ")")
    return reasons
