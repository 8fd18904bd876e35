"""Warnings about a run: folds that ended at the epoch cap, baselines that failed."""

from __future__ import annotations

from .history import (
    ended_before_early_stopping,
    epochs_of,
    final_step,
    history_of,
    still_improving,
)


def still_improving_folds(estimators):
    """Numbers (from 1) of the folds whose training ended on its best epoch."""
    return [
        number for number, est in enumerate(estimators, start=1) if still_improving(est)
    ]


def epoch_cap_folds(estimators):
    """Numbers (from 1) of the folds that hit the ``max_epochs`` cap too early."""
    return [
        number
        for number, est in enumerate(estimators, start=1)
        if ended_before_early_stopping(est)
    ]


def run_notes(estimators, baselines):
    """Warnings about a cross-validation, as sentences (empty when all is well).

    Parameters
    ----------
    estimators : list of estimator objects
        The fitted fold estimators.
    baselines : iterable of BaselineResult
        The baselines, whose errors are noted.

    Returns
    -------
    notes : list of str
    """
    notes = []
    n_splits = len(estimators)
    improving = still_improving_folds(estimators)
    if improving:
        notes.append(
            f"{_folds_text(improving)} of {n_splits} ended at the "
            "max_epochs cap while still improving (the last epoch was the "
            "best); more epochs would probably give a better model."
        )
    capped = [n for n in epoch_cap_folds(estimators) if n not in improving]
    if capped:
        notes.append(_epoch_cap_note(estimators, capped))
    for result in baselines:
        if result.error:
            notes.append(
                f"The {result.name} baseline ({result.model}) could not be "
                f"cross-validated: {result.error}"
            )
    return notes


def _epoch_cap_note(estimators, folds):
    finals = [final_step(estimators[n - 1]) for n in folds]
    epochs = [int(epochs_of(history_of(f, "the report")[0])[-1]) for f in finals]
    monitor = getattr(finals[0], "monitor", None) or "the monitored value"
    patience = getattr(finals[0], "patience", None)
    within = f"the last {patience} epochs (patience)" if patience else "patience"
    return (
        f"{_folds_text(folds)} of {len(estimators)} ended at the max_epochs "
        f"cap ({_join_numbers(epochs)} epochs) before early stopping "
        f"triggered: {monitor} had improved within {within}. More epochs "
        "might give a better model."
    )


def _folds_text(numbers):
    """``"Fold 2"`` or ``"Folds 1, 3 and 4"``."""
    if len(numbers) == 1:
        return f"Fold {numbers[0]}"
    return f"Folds {_join_numbers(numbers)}"


def _join_numbers(numbers):
    """``"1, 2 and 4"``."""
    numbers = [str(number) for number in numbers]
    if len(numbers) == 1:
        return numbers[0]
    return ", ".join(numbers[:-1]) + f" and {numbers[-1]}"
