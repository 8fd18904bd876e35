"""Learning-rate schedules from a plain, tunable parameter."""

import inspect

from torch.optim import lr_scheduler

# Names users can give instead of a scheduler class.
_NAMED = {
    "plateau": lr_scheduler.ReduceLROnPlateau,
    "cosine": lr_scheduler.CosineAnnealingLR,
    "step": lr_scheduler.StepLR,
    "exponential": lr_scheduler.ExponentialLR,
}


def make_scheduler(lr_schedule, optimizer, kwargs, *, lower_is_better, max_epochs):
    """Build the epoch-level scheduler for ``lr_schedule``, or return None.

    Parameters
    ----------
    lr_schedule : None, str or type
        ``"plateau"`` (``ReduceLROnPlateau`` on the monitored value),
        ``"cosine"``, ``"step"``, ``"exponential"``, or any
        ``torch.optim.lr_scheduler`` class.
    optimizer : torch.optim.Optimizer
    kwargs : dict
        The ``lr_schedule__*`` arguments.
    lower_is_better : bool
        Direction of the monitored value, for ``"plateau"``.
    max_epochs : int
        Default period of ``"cosine"``.
    """
    if lr_schedule is None:
        return None
    scheduler_class = _NAMED.get(lr_schedule, lr_schedule)
    if not (isinstance(scheduler_class, type) and _is_scheduler(scheduler_class)):
        raise ValueError(
            f"lr_schedule={lr_schedule!r} is not supported; use None, one of "
            f"{sorted(_NAMED)} or a torch.optim.lr_scheduler class."
        )
    kwargs = dict(kwargs)
    if scheduler_class is lr_scheduler.ReduceLROnPlateau:
        kwargs.setdefault("mode", "min" if lower_is_better else "max")
    elif scheduler_class is lr_scheduler.CosineAnnealingLR:
        kwargs.setdefault("T_max", max_epochs)
    elif scheduler_class is lr_scheduler.StepLR:
        kwargs.setdefault("step_size", max(1, max_epochs // 3))
    elif scheduler_class is lr_scheduler.ExponentialLR:
        kwargs.setdefault("gamma", 0.95)
    return scheduler_class(optimizer, **kwargs)


def _is_scheduler(cls):
    return issubclass(cls, lr_scheduler.LRScheduler | lr_scheduler.ReduceLROnPlateau)


def step_scheduler(scheduler, monitored_value):
    """Advance the schedule by one epoch."""
    if scheduler is None:
        return
    if "metrics" in inspect.signature(scheduler.step).parameters:
        if monitored_value is not None:
            scheduler.step(monitored_value)
    else:
        scheduler.step()
