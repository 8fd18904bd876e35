"""skorch's ``History`` with cheap writes to the current epoch and batch.

skorch's ``History.__getitem__`` resolves any index through its
epoch/batch/key machinery, and ``new_batch``/``record``/``record_batch`` go
through it for ``self[-1]``: several times per batch, more than a small
network's step costs. The writes here reach the last row directly; reading
(``history[:, 'train_loss']`` and the rest) is skorch's, except that a
``valid_*`` key missing from a history without validation data says why.
"""

from skorch.history import History

# Appended to skorch's KeyError for a valid_* key a fit without validation
# data could not record.
NO_VALIDATION_DATA = (
    "This fit had no validation data, so it recorded no valid_* keys: "
    "nnestimators trains on every row unless told to hold some out (skorch "
    "holds out 20%). Give it validation data with validation_fraction=0.2, "
    "train_split=ValidSplit(5) (skorch's split) or fit(X, y, "
    "validation_data=(X_val, y_val))."
)


class TrainingHistory(History):
    """A skorch ``History`` whose per-batch bookkeeping is a list access."""

    def __getitem__(self, index):
        try:
            return super().__getitem__(index)
        except KeyError as exc:
            if _asks_for_validation(index) and not _has_validation(self):
                raise NoValidationDataError(*exc.args) from None
            raise


class NoValidationDataError(KeyError):
    """skorch's ``KeyError`` for a ``valid_*`` key, shown with why it is missing.

    ``args[0]`` stays skorch's message, which skorch's callbacks quote in
    their own (``Checkpoint``: "Make sure you have validation data ...");
    the error as shown adds the reason and the ways to validation data.
    """

    def __str__(self):
        return f"{self.args[0]} {NO_VALIDATION_DATA}"

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


def _asks_for_validation(index):
    keys = index if isinstance(index, tuple) else (index,)
    for key in keys:
        if isinstance(key, tuple | list):
            if _asks_for_validation(tuple(key)):
                return True
        elif isinstance(key, str) and key.startswith("valid_"):
            return True
    return False


def _has_validation(history):
    return any(
        isinstance(key, str) and key.startswith("valid_")
        for row in list.__iter__(history)
        for key in row
    )
