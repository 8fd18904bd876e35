"""skorch's ``History`` with cheap writes to the current epoch and batch.

skorch's ``History.__getitem__`` resolves any index through its
epoch/batch/key machinery, and ``new_batch``/``record``/``record_batch`` go
through it for ``self[-1]``: several times per batch, more than a small
network's step costs. The writes here reach the last row directly; reading
(``history[:, 'train_loss']`` and the rest) is skorch's.
"""

from skorch.history import History


class TrainingHistory(History):
    """A skorch ``History`` whose per-batch bookkeeping is a list access."""

    def new_batch(self):
        list.__getitem__(self, -1)["batches"].append({})

    def record(self, attr, value):
        if not self:
            raise ValueError("Call new_epoch before recording for the first time.")
        list.__getitem__(self, -1)[attr] = value

    def record_batch(self, attr, value):
        list.__getitem__(self, -1)["batches"][-1][attr] = value


def last_row(history):
    """The current epoch's row, without skorch's index resolution where possible."""
    if isinstance(history, list):
        return list.__getitem__(history, -1)
    return history[-1]
