"""Checksums of a checkpoint's content.

torch's zip reader does not check the CRC-32 of the records it reads, so
bytes flipped inside a tensor's record load silently. A checkpoint records
sha256 digests of its configuration, its history and all its tensors (state
dicts included); loading recomputes and compares them, after checking the
zip archive (``archive``) and the payload's size (``limits``).

A tensor's digest covers its elements as a dense, contiguous array, so that
the same values give the same digest whatever their layout. They are fed in
slices of at most ``_SLICE_BYTES``: a sparse tensor or a strided view is
never made dense whole.
"""

import hashlib
import math

import torch

from .errors import CorruptCheckpointError

# The payload entries the "tensors" digest covers; the optional ones only
# when present, so that checkpoints written without them still verify.
TENSOR_ENTRIES = ("module", "optimizer", "lr_scheduler", "tensors")
OPTIONAL_TENSOR_ENTRIES = ("extra_modules",)

_SLICE_BYTES = 1 << 22


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
        tensor = value.detach().cpu()
        digest.update(f"T{tensor.dtype}{list(value.shape)}:".encode())
        if tensor.layout == torch.strided:
            _feed_strided(digest, tensor.resolve_conj().resolve_neg())
        else:
            _feed_sparse(digest, tensor)
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


def _feed_strided(digest, tensor):
    if tensor.is_contiguous():
        _feed_bytes(digest, tensor)
        return
    # A view (a transpose, or zero strides repeating its data) is copied a
    # slice at a time, never whole.
    row_bytes = math.prod(tensor.shape[1:]) * tensor.element_size()
    if row_bytes > _SLICE_BYTES:
        for row in tensor:
            _feed_strided(digest, row)
        return
    step = _SLICE_BYTES // max(1, row_bytes)
    for start in range(0, tensor.shape[0], step):
        _feed_bytes(digest, tensor[start : start + step].contiguous())


def _feed_sparse(digest, tensor):
    """Feed a sparse tensor's dense bytes, zeros made a slice at a time."""
    coo = tensor.to_sparse_coo().coalesce()
    values = coo.values().resolve_conj().resolve_neg()
    sparse_shape = coo.shape[: coo.sparse_dim()]
    block = math.prod(coo.shape[coo.sparse_dim() :])  # elements per sparse index
    values = values.reshape(len(values), block)
    # Coalesced: the row-major positions are unique and sorted.
    strides = [math.prod(sparse_shape[i + 1 :]) for i in range(len(sparse_shape))]
    strides = torch.tensor(strides, dtype=torch.int64).reshape(-1, 1)
    positions = (coo.indices() * strides).sum(0)
    slots = math.prod(sparse_shape)
    step = max(1, _SLICE_BYTES // max(1, block * tensor.element_size()))
    for start in range(0, slots, step):
        stop = min(slots, start + step)
        dense = torch.zeros((stop - start, block), dtype=values.dtype)
        first, last = torch.searchsorted(positions, torch.tensor([start, stop]))
        dense[positions[first:last] - start] = values[first:last]
        _feed_bytes(digest, dense)


def _feed_bytes(digest, tensor):
    if tensor.numel():
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())


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
