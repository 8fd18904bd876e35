"""Writing a fit's checkpoint into a folder of its own, atomically."""

import contextlib
import errno
import functools
import json
import os
import pathlib
import re
import socket
import tempfile
import time
import warnings

import torch

from .codec import describe_not_saved
from .errors import CheckpointWriteError
from .layout import CHECKPOINT_FILE, DESCRIPTION_FILE, TMP_PREFIX
from .payload import build_payload

# A temporary file untouched for this long belongs to a write that was killed.
STALE_AFTER_SECONDS = 600


def write_checkpoint(estimator, checkpoint_dir, folder=None):
    """Write the estimator's current state as its fit's checkpoint.

    A fit's first write creates a folder of its own in ``checkpoint_dir``;
    later writes of the same fit (``folder``, what the first returned)
    replace the checkpoint there atomically.

    Parameters
    ----------
    estimator : NNEstimator
        An initialized estimator (during or after fit).
    checkpoint_dir : str or path-like
        Folder holding one sub-folder per fit; created if missing.
    folder : str or None, default=None
        The fit's folder from its earlier writes; None (or a folder that is
        not one of ``checkpoint_dir``'s) starts a new one.

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
    if not _is_fit_folder_of(folder, checkpoint_dir):
        folder = _new_fit_folder(estimator, checkpoint_dir)
        _warn_not_saved(estimator, config["not_saved"])
    else:
        folder = os.fspath(folder)
        remove_stale_temporaries(folder)
    _write_atomically(
        os.path.join(folder, CHECKPOINT_FILE),
        functools.partial(save_payload, payload),
    )
    description = json.dumps(config, indent=2).encode()
    _write_atomically(
        os.path.join(folder, DESCRIPTION_FILE), lambda file: file.write(description)
    )
    return folder


def _new_fit_folder(estimator, checkpoint_dir):
    check_checkpoint_dir(checkpoint_dir, probe=False)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    # mkdtemp picks a fresh name and creates it in one step: no two fits,
    # threads or processes can get the same folder.
    try:
        folder = tempfile.mkdtemp(
            dir=checkpoint_dir, prefix=f"{type(estimator).__name__}-{stamp}-"
        )
    except OSError as exc:
        raise CheckpointWriteError(
            f"Could not create a checkpoint folder in {os.fspath(checkpoint_dir)!r}: "
            f"{_why(exc)}. No checkpoint of this fit was written."
        ) from exc
    return os.path.abspath(folder)


def check_checkpoint_dir(checkpoint_dir, *, probe=True):
    """Check that ``checkpoint_dir`` can hold checkpoints; create it if missing.

    Parameters
    ----------
    checkpoint_dir : str, path-like or None
        The ``checkpoint_dir`` parameter; None (no checkpoints) passes.
    probe : bool, default=True
        Also create and remove a small file in it, to check that it is
        writable.

    Returns
    -------
    path : str or None
        The folder's absolute path, or None for None.

    Raises
    ------
    ValueError
        When the path is empty, is a file (or lies under one), or the
        folder cannot be created or written to.
    """
    if checkpoint_dir is None:
        return None
    if not isinstance(checkpoint_dir, str | os.PathLike):
        raise ValueError(
            f"checkpoint_dir={checkpoint_dir!r} is not a folder path; give a str "
            "or pathlib.Path, or None for no checkpoints."
        )
    path = os.fspath(checkpoint_dir)
    if not isinstance(path, str) or not path.strip():
        raise ValueError(
            f"checkpoint_dir={checkpoint_dir!r} is empty; give a folder path "
            "(checkpoint_dir='checkpoints', say), or None for no checkpoints."
        )
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(
            f"checkpoint_dir={path!r} is a file, not a folder; checkpoints go in "
            "sub-folders of a folder. Give another path."
        )
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"checkpoint_dir={path!r} cannot be created: {_why(exc)}. Give a "
            "folder you can write to."
        ) from exc
    if probe:
        try:
            fd, probe_file = tempfile.mkstemp(dir=path, prefix=TMP_PREFIX + "probe-")
            os.close(fd)
            os.unlink(probe_file)
        except OSError as exc:
            raise ValueError(
                f"checkpoint_dir={path!r} is not writable: {_why(exc)}. Give a "
                "folder you can write to."
            ) from exc
    return os.path.abspath(path)


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
    """Write a file through ``write(file)`` so that it appears whole or not at all.

    Failures (a full disk, say) raise ``CheckpointWriteError``, naming the
    folder; the file already at ``path`` is left as it was.
    """
    folder = os.path.dirname(path)
    try:
        fd, temporary = tempfile.mkstemp(
            dir=folder, prefix=_temporary_prefix(), suffix="-" + os.path.basename(path)
        )
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError | RuntimeError) and not isinstance(
            exc, CheckpointWriteError
        ):
            raise _write_error(path, exc) from exc
        raise
    _sync_folder(folder)


def _write_error(path, exc):
    folder = os.path.dirname(path)
    if os.path.exists(path):
        kept = "The previous checkpoint there is kept."
    else:
        kept = "No checkpoint of this fit was written yet."
    return CheckpointWriteError(
        f"Could not write {os.path.basename(path)} in {folder!r}: {_why(exc)}. {kept}"
    )


def _why(exc):
    """The cause of a failed write, in words, with the original message."""
    number = getattr(exc, "errno", None)
    if number == errno.ENOSPC:
        return f"the disk is full ({exc})"
    if number == getattr(errno, "EDQUOT", None):
        return f"the disk quota is exceeded ({exc})"
    if number in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the folder is not writable ({exc})"
    if isinstance(exc, OSError):
        return str(exc)
    # torch's writer reports a failed write as a RuntimeError ("[enforce fail
    # at inline_container.cc:...] ... file write failed").
    return f"the write failed; is the disk full? ({type(exc).__name__}: {exc})"


def _temporary_prefix():
    # The host and process of the writer, so that cleaning up can tell the
    # leftovers of a killed write from a write in progress.
    return f"{TMP_PREFIX}{_host()}-{os.getpid()}-"


@functools.cache
def _host():
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def remove_stale_temporaries(folder, now=None):
    """Remove the temporary files that killed writes left in a fit's folder.

    A ``.tmp-*`` file is stale when the process that wrote it, on this host,
    is gone, or when nothing touched it for ``STALE_AFTER_SECONDS``; the
    temporary file of a write in progress (another process continuing this
    fit) is left alone.
    """
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(TMP_PREFIX):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if age > STALE_AFTER_SECONDS or _writer_is_gone(entry.name):
                os.unlink(entry.path)
        except OSError:
            continue  # removed meanwhile, or not ours to remove


def _writer_is_gone(name):
    match = re.match(re.escape(TMP_PREFIX) + r"([A-Za-z0-9]+)-(\d+)-", name)
    if os.name != "posix" or match is None or match[1] != _host():
        return False  # (on Windows, signal 0 would be a Ctrl-C)
    pid = int(match[2])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, owned by another user
    return False


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
