"""Writing a fit's checkpoint into a folder of its own, atomically."""

import contextlib
import functools
import json
import os
import pathlib
import tempfile
import time
import warnings

import torch

from .codec import describe_not_saved
from .layout import CHECKPOINT_FILE, DESCRIPTION_FILE
from .payload import build_payload

_TMP_PREFIX = ".tmp-"


def write_checkpoint(estimator, checkpoint_dir, current_path=None):
    """Write the estimator's current state as its fit's checkpoint.

    The first call of a fit creates the fit's own folder in
    ``checkpoint_dir``; later calls of the same fit (including fits continued
    with ``warm_start``) replace the checkpoint in that folder atomically.

    Parameters
    ----------
    estimator : NNEstimatorMixin
        An initialized estimator (during or after fit).
    checkpoint_dir : str or path-like
        Folder holding one sub-folder per fit; created if missing.
    current_path : str or None, default=None
        The folder this fit wrote to before (``checkpoint_path_``), if any.

    Returns
    -------
    path : str
        The fit's checkpoint folder.
    """
    if not estimator.initialized_:
        raise ValueError(
            f"This {type(estimator).__name__} has no weights to save yet; call "
            "fit before writing a checkpoint."
        )
    payload, config = build_payload(estimator)
    folder = _owned_folder(estimator, checkpoint_dir, current_path)
    if folder is None:
        folder = _new_fit_folder(estimator, checkpoint_dir)
        _warn_not_saved(estimator, config["not_saved"])
    _write_atomically(
        os.path.join(folder, CHECKPOINT_FILE),
        functools.partial(save_payload, payload),
    )
    description = json.dumps(config, indent=2).encode()
    _write_atomically(
        os.path.join(folder, DESCRIPTION_FILE), lambda file: file.write(description)
    )
    # Remember which fit owns the folder: a new fit (fresh history) gets its own.
    estimator._checkpoint_history = estimator.history_
    return folder


def _owned_folder(estimator, checkpoint_dir, current_path):
    """The folder this fit already writes to, or None on the fit's first write."""
    same_fit = getattr(estimator, "_checkpoint_history", None) is estimator.history_
    if same_fit and _is_fit_folder_of(current_path, checkpoint_dir):
        return os.fspath(current_path)
    return None


def _new_fit_folder(estimator, checkpoint_dir):
    os.makedirs(checkpoint_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # mkdtemp picks a fresh name and creates it in one step: no two fits,
    # threads or processes can get the same folder.
    folder = tempfile.mkdtemp(
        dir=checkpoint_dir, prefix=f"{type(estimator).__name__}-{stamp}-"
    )
    return os.path.abspath(folder)


def _is_fit_folder_of(path, checkpoint_dir):
    if path is None or not os.path.isdir(path):
        return False
    parent = pathlib.Path(path).resolve().parent
    return parent == pathlib.Path(checkpoint_dir).resolve()


def _warn_not_saved(estimator, not_saved):
    if not_saved:
        warnings.warn(
            f"Checkpoints of this {type(estimator).__name__} cannot store "
            f"{describe_not_saved(not_saved)}; pass "
            f"{'it' if len(not_saved) == 1 else 'them'} again to from_checkpoint.",
            UserWarning,
            stacklevel=4,
        )


def save_payload(payload, file):
    """Write the checkpoint dict to an open binary file."""
    torch.save(payload, file)


def _write_atomically(path, write):
    """Write a file through ``write(file)`` so that it appears whole or not at all."""
    folder = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(
        dir=folder, prefix=_TMP_PREFIX, suffix="-" + os.path.basename(path)
    )
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder):
    # Makes the rename itself durable; not every platform can open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
