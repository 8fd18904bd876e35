"""What skorch's callbacks expect of a fit: validation data, skorch's names.

skorch holds out a fifth of the rows by default, so its callbacks may
assume validation data; the estimators train on every row unless told
otherwise. ``needs_validation`` says which of a user's callbacks read
validation scores, so that the fit holds out 10% for them (the rule
``EarlyStopping`` always had). ``SkorchAccuracy`` records skorch's
``valid_acc`` beside the estimators' ``valid_accuracy``.
"""

import numpy as np
from skorch.callbacks import (
    BatchScoring,
    Callback,
    EpochScoring,
    LRScheduler,
    PassthroughScoring,
)
from torch.optim.lr_scheduler import ReduceLROnPlateau

_SCORING = (EpochScoring, BatchScoring, PassthroughScoring)


def needs_validation(callback, overrides=None):
    """What of ``callback`` needs validation data, as ``"monitor='valid_loss'"``.

    None when nothing does. A scoring callback scored on validation data
    (``on_train=False``, skorch's default), an ``LRScheduler`` stepping
    ``ReduceLROnPlateau`` on a ``valid_*`` key, and any callback whose
    ``monitor`` is a ``valid_*`` key (skorch's ``EarlyStopping`` and
    ``Checkpoint`` by default, a user's own) need it. ``overrides`` are the
    ``callbacks__<name>__*`` parameters the fit will set on it.
    """
    if isinstance(callback, type) or callback is None:
        return None  # built at initialize: its defaults are not read here

    def setting(name, default=None):
        return (overrides or {}).get(name, getattr(callback, name, default))

    if isinstance(callback, _SCORING):
        if setting("on_train", True):
            return None
        scoring = setting("scoring", setting("name"))
        return (
            f"{scoring!r}, on_train=False"
            if isinstance(scoring, str)
            else ("on_train=False")
        )
    monitor = setting("monitor")
    if not (isinstance(monitor, str) and monitor.startswith("valid_")):
        return None
    if isinstance(callback, LRScheduler) and not _is_plateau(setting("policy")):
        return None  # only ReduceLROnPlateau reads the monitor
    return f"monitor={monitor!r}"


def _is_plateau(policy):
    if isinstance(policy, str):
        return policy == "ReduceLROnPlateau"
    return isinstance(policy, type) and issubclass(policy, ReduceLROnPlateau)


def validation_notice(reasons, fraction, n_rows):
    """The one line a fit gives when it holds out rows for skorch's callbacks.

    ``fraction`` is 0 when ``n_rows`` are too few to hold any out.
    """
    named = ", ".join(reasons)
    needs = f"{named} {'needs' if len(reasons) == 1 else 'need'} validation data"
    choose = (
        "skorch holds out 20% (train_split=ValidSplit(5)); set "
        "validation_fraction, train_split or fit(..., validation_data=...) to "
        "choose."
    )
    if not fraction:
        return (
            f"{needs}, but {n_rows} rows are too few to hold out 10% of them "
            f"(2 at least): this fit has none. {choose}"
        )
    return (
        f"{needs}: {fraction:.0%} of the rows are held out for "
        f"{'it' if len(reasons) == 1 else 'them'} (validation_fraction=None). "
        f"{choose}"
    )


# skorch's names recorded beside ours: shown once, under our name, in the
# progress lines and history_frame().
ALIASES = {"valid_acc": "valid_accuracy", "valid_acc_best": "valid_accuracy"}


def is_alias(key, row):
    """Whether ``key`` of a history ``row`` repeats another key under skorch's name."""
    return key in ALIASES and ALIASES[key] in row


class SkorchAccuracy(Callback):
    """skorch's ``valid_acc`` and ``valid_acc_best``, from ``valid_accuracy``.

    skorch's classifiers record validation accuracy as ``valid_acc`` (an
    ``EpochScoring`` named ``valid_acc``); skorch code reads that name. This
    callback, named ``valid_acc`` as skorch's is, copies the epoch's
    ``valid_accuracy`` under it, with skorch's ``valid_acc_best`` flag (a
    new highest score since the net was initialized). It records nothing
    where accuracy was not scored on validation data. It takes the
    parameters of skorch's callback that a copy can honour, so skorch's
    ``callbacks__valid_acc__name=...`` works.

    Parameters
    ----------
    name : str, default="valid_acc"
        The history key (and ``<name>_best``).
    lower_is_better : bool or None, default=False
        Direction of the ``_best`` flag; None records no flag, as skorch.
    on_train : bool, default=False
        Copy ``train_accuracy`` (recorded when ``metrics`` is given)
        instead.
    """

    def __init__(self, name="valid_acc", lower_is_better=False, on_train=False):
        self.name = name
        self.lower_is_better = lower_is_better
        self.on_train = on_train

    def initialize(self):
        self.best_score_ = np.inf if self.lower_is_better else -np.inf
        return self

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        score = row.get("train_accuracy" if self.on_train else "valid_accuracy")
        if score is None:
            return
        net.history.record(self.name, score)
        if self.lower_is_better is None:
            return
        best = getattr(self, "best_score_", None)
        if best is None:
            best = self.initialize().best_score_
        improved = score < best if self.lower_is_better else score > best
        net.history.record(f"{self.name}_best", bool(improved))
        if improved:
            self.best_score_ = score
