"""Checksums of a checkpoint's content, and checks of the file before reading it.

torch's zip reader does not check the CRC-32 of the records it reads, so
bytes flipped inside a tensor's record load silently. A checkpoint records
sha256 digests of its configuration, its history and all its tensors (state
dicts included); loading recomputes and compares them, after checking the
zip archive itself.
"""

import errno
import hashlib
import zipfile
import zlib

import torch

from .errors import CorruptCheckpointError

# The payload entries the "tensors" digest covers; the optional ones only
# when present, so that checkpoints written without them still verify.
TENSOR_ENTRIES = ("module", "optimizer", "lr_scheduler", "tensors")
OPTIONAL_TENSOR_ENTRIES = ("extra_modules",)

_ZIP_MAGIC = b"PK\x03\x04"


def checksums(payload):
    """sha256 hex digests of the payload's config, history and tensors."""
    return {
        "config": _text_digest(payload["config"]),
        "history": _text_digest(payload["history"]),
        "tensors": _state_digest(_tensor_entries(payload)),
    }


def _tensor_entries(payload):
    entries = {key: payload.get(key) for key in TENSOR_ENTRIES}
    entries.update(
        {key: payload[key] for key in OPTIONAL_TENSOR_ENTRIES if key in payload}
    )
    return entries


def _text_digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _state_digest(value):
    digest = hashlib.sha256()
    _feed(digest, value)
    return digest.hexdigest()


def _feed(digest, value):
    """Feed a canonical form of state dicts and tensors to ``digest``."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        tensor = tensor.cpu().resolve_conj().resolve_neg().contiguous().reshape(-1)
        digest.update(f"T{tensor.dtype}{list(value.shape)}:".encode())
        if tensor.numel():
            digest.update(tensor.view(torch.uint8).numpy())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}:".encode())
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, list | tuple):  # torch.Size too
        digest.update(f"L{len(value)}:".encode())
        for item in value:
            _feed(digest, item)
    else:
        text = repr(value).encode()
        digest.update(f"V{type(value).__name__}{len(text)}:".encode() + text)


def verify(payload, file):
    """Raise ``CorruptCheckpointError`` unless the recorded checksums match."""
    recorded = payload.get("checksums")
    parts = ("config", "history", "tensors")
    if not isinstance(recorded, dict) or not all(
        type(recorded.get(part)) is str for part in parts
    ):
        raise CorruptCheckpointError(
            f"{file} is corrupt: it has no valid record of its checksums, which "
            "every checkpoint of its format version holds."
        )
    try:
        actual = checksums(payload)
    except (TypeError, AttributeError, RuntimeError) as exc:
        raise CorruptCheckpointError(
            f"{file} is corrupt: its content has not the checkpoint layout ({exc})."
        ) from None
    damaged = [part for part in parts if actual[part] != recorded[part]]
    if damaged:
        what = {"config": "configuration", "history": "history", "tensors": "weights"}
        parts_text = " and ".join(what[part] for part in damaged)
        verb = "match" if len(damaged) > 1 or damaged == ["tensors"] else "matches"
        raise CorruptCheckpointError(
            f"{file} is corrupt: its {parts_text} no longer {verb} the sha256 "
            "checksum recorded when it was written (a damaged disk, or a copy "
            "that changed in transfer). It is not loaded; use another copy, or "
            "train again."
        )


def check_archive(file):
    """Check that ``file`` is a whole zip archive whose records pass their CRC.

    Raises ``CorruptCheckpointError`` for a file that is empty, truncated,
    damaged, or not a checkpoint at all (a text file saved under its name).
    """
    with open(file, "rb") as stream:
        start = stream.read(len(_ZIP_MAGIC))
    if not start:
        raise CorruptCheckpointError(
            f"{file} is empty: it is corrupt or truncated (an interrupted copy?)."
        )
    if start != _ZIP_MAGIC:
        raise CorruptCheckpointError(
            f"{file} is not a checkpoint: nnestimators writes checkpoint.pt as the "
            "zip archive torch.save makes, and this file is not one (it starts "
            f"with {start!r}). It is corrupt, or another file saved under that name."
        )
    try:
        with zipfile.ZipFile(file) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise _truncated(file, exc) from None
    except zlib.error as exc:
        raise _truncated(file, exc) from None
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, None):
            raise  # a permission or I/O problem, not the file's content
        raise _truncated(file, exc) from None
    if damaged is not None:
        raise CorruptCheckpointError(
            f"{file} is corrupt: its record {damaged} fails its CRC check (a "
            "damaged disk, or a copy that changed in transfer). It is not loaded; "
            "use another copy, or train again."
        )


def _truncated(file, exc):
    return CorruptCheckpointError(
        f"{file} is truncated or corrupt: its zip archive is incomplete or damaged "
        f"({type(exc).__name__}: {exc}). A copy or download may have been "
        "interrupted; use another copy, or train again."
    )
