"""The error raised when the training loss stops being a finite number."""


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite.

    Raised by ``fit`` as soon as it is seen; inside ``GridSearchCV`` the
    candidate scores ``error_score`` and the search goes on.
    """


def divergence_message(epoch, batch, lr, gradient_clip, regression=False):
    """Explain where the loss stopped being finite and what usually helps."""
    where = f"epoch {epoch}" + (f", batch {batch}" if batch is not None else "")
    hints = [f"a lower learning rate (lr={lr!r} now)"]
    if gradient_clip is None:
        hints.append("gradient clipping (e.g. gradient_clip=1.0)")
    hints.append("scaled inputs (e.g. StandardScaler)")
    if regression:
        hints.append(
            "a scaled target (standardize_target=True or "
            "TransformedTargetRegressor) when y is large"
        )
    return (
        f"Training diverged: the training loss became NaN or infinite at {where}. "
        f"Try {', '.join(hints[:-1])} or {hints[-1]}."
    )
