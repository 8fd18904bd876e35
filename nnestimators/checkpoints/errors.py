"""The errors checkpoints raise, so that callers can tell their causes apart."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message says why."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint damaged on disk or in transfer, or not a checkpoint at all."""


class UntrustedCheckpointError(CheckpointError):
    """A checkpoint naming classes or functions the caller did not trust.

    Nothing it names was imported or called. The message lists the entries
    and how to trust them (``trusted=[...]``, or passing the parameters again).
    """


class CheckpointWriteError(OSError):
    """Writing a checkpoint failed (a full disk, a folder that is not writable).

    The fit's previous checkpoint, if any, is left as it was.
    """
