"""What reading a checkpoint may cost, measured against the file before it is used.

A file can declare more than it holds: a tensor whose shape is far larger
than its data (a sparse tensor, or a dense view with zero strides), the same
list referenced from itself a thousand times over, a JSON array of a few
bytes declaring a dtype of gigabytes. Everything loading does with a payload
(its checksums, copying weights into the module) walks it, so the payload is
walked once first, counting, and refused as soon as a count exceeds what the
file's size allows. These caps are documented in the checkpoint guide; an
honest checkpoint stays far below them.
"""

import itertools
import math

import torch

from .errors import CorruptCheckpointError

# The payload's values, counted once per reference, plus the characters of
# its strings: at most this many per byte of its pickle, plus a margin.
# A pickle spends at least one byte per value, two per repeated reference.
STRUCTURE_PER_PICKLE_BYTE = 4
STRUCTURE_MARGIN = 1 << 16
# The elements of all tensors, in bytes and counted once per reference (a
# sparse tensor at its dense size): at most this many times the bytes of
# tensor data in the archive, plus a margin. Tied weights count twice.
TENSOR_BYTES_PER_STORED_BYTE = 4
TENSOR_BYTES_MARGIN = 16 << 20
# How deeply lists and dicts nest; a state dict nests three or four levels.
MAX_DEPTH = 64
# Integers in a payload are counts, steps and sizes.
MAX_INT_BITS = 64
# Arrays decoded from the JSON, all together: at most this many bytes per
# character of the JSON text, plus a margin.
ARRAY_BYTES_PER_CHARACTER = 8
ARRAY_BYTES_MARGIN = 64 << 20

TENSOR_LAYOUTS = frozenset(
    {
        torch.strided,
        torch.sparse_coo,
        torch.sparse_csr,
        torch.sparse_csc,
        torch.sparse_bsr,
        torch.sparse_bsc,
    }
)
_SCALARS = (type(None), bool, int, float, str)


def dense_bytes(tensor):
    """Bytes of ``tensor``'s elements were it dense, without computing it in torch."""
    return math.prod(tensor.shape) * tensor.element_size()


def check_payload(payload, size, file):
    """Walk what ``torch.load`` returned once, within the limits ``size`` sets.

    Parameters
    ----------
    payload : object
        What ``torch.load`` read.
    size : ArchiveSize
        The checked archive's sizes.
    file : str
        For messages.

    Raises
    ------
    CorruptCheckpointError
        For a value no checkpoint holds, or a payload beyond the limits.
    """
    walk = _Walk(size, file)
    walk.visit(payload)
    # Depth first, one iterator per open list or dict: the walk's own memory
    # stays within MAX_DEPTH iterators whatever the payload declares.
    open_items = [iter(walk.children(payload))]
    while open_items:
        item = next(open_items[-1], _DONE)
        if item is _DONE:
            open_items.pop()
            continue
        walk.visit(item)
        children = walk.children(item)
        if children:
            if len(open_items) >= MAX_DEPTH:
                raise _beyond(file, f"its lists and dicts nest over {MAX_DEPTH} deep")
            open_items.append(iter(children))


_DONE = object()


class _Walk:
    """The counts of one walk over a payload, checked at each value."""

    def __init__(self, size, file):
        self.file = file
        self.size = size
        self.structure_cap = STRUCTURE_PER_PICKLE_BYTE * size.pickle + STRUCTURE_MARGIN
        self.tensor_cap = tensor_cap(size)
        self.structure = self.tensor_bytes = 0

    def children(self, value):
        """The values a list or dict holds (keys too); () for any other value."""
        if isinstance(value, dict):
            return itertools.chain(value.keys(), value.values()) if value else ()
        if type(value) in (list, tuple, torch.Size):
            return value
        return ()

    def visit(self, value):
        self.structure += 1
        if isinstance(value, torch.Tensor):
            _check_tensor(value, self.file)
            self.tensor_bytes += dense_bytes(value)
            if self.tensor_bytes > self.tensor_cap:
                raise _beyond(
                    self.file,
                    f"its tensors declare more than {self.tensor_bytes:,} bytes of "
                    f"elements, while its {self.size.storages:,} bytes of tensor "
                    f"data allow at most {self.tensor_cap:,} (a shape far larger "
                    "than its data: a sparse tensor, or a view repeating its data)",
                )
        elif type(value) is str:
            self.structure += len(value)
        elif type(value) is int and value.bit_length() > MAX_INT_BITS:
            raise _beyond(
                self.file, f"it holds an integer of {value.bit_length()} bits"
            )
        elif not (
            type(value) in _SCALARS
            or type(value) in (list, tuple, torch.Size)
            or isinstance(value, dict)
        ):
            raise CorruptCheckpointError(
                f"{self.file} is corrupt: it holds a {type(value).__name__}, which "
                "nnestimators checkpoints never hold (tensors, lists, dicts, "
                "strings and numbers only)."
            )
        if self.structure > self.structure_cap:
            raise _beyond(
                self.file,
                f"its content counts more than {self.structure_cap:,} values and "
                f"characters, while its {self.size.pickle:,}-byte pickle allows at "
                "most that (the same list or string referenced over and over)",
            )


def _check_tensor(tensor, file):
    kind = None
    if type(tensor) not in (torch.Tensor, torch.nn.Parameter):
        kind = f"a {type(tensor).__name__}"
    elif tensor.layout not in TENSOR_LAYOUTS:
        kind = f"a tensor of layout {tensor.layout}"
    elif tensor.device.type != "cpu":
        kind = f"a tensor on {tensor.device.type}"
    elif tensor.is_quantized or tensor.is_nested:
        kind = "a quantized or nested tensor"
    if kind is not None:
        raise CorruptCheckpointError(
            f"{file} is corrupt: it holds {kind}, which nnestimators checkpoints "
            "never hold (plain tensors, dense or sparse)."
        )


def _beyond(file, why):
    return CorruptCheckpointError(
        f"{file} is not loaded: {why}. nnestimators never writes such a "
        "checkpoint; it is corrupt or was crafted to exhaust memory or time."
    )


def tensor_cap(size):
    """Bytes of tensor elements a checkpoint of ``size`` may declare."""
    return TENSOR_BYTES_PER_STORED_BYTE * size.storages + TENSOR_BYTES_MARGIN


def module_bytes(module):
    """Bytes of a module's parameters and buffers."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(dense_bytes(tensor) for tensor in tensors)


class Budget:
    """What rebuilding one checkpoint may allocate beyond what torch read.

    The arrays its JSON declares, all together, and each module its
    parameters build (weights the stored ones then replace).

    Parameters
    ----------
    characters : int, default=0
        Characters of the JSON text (configuration and history).
    module_cap : int, default=TENSOR_BYTES_MARGIN
        Bytes a module's parameters and buffers may take: the checkpoint's
        ``tensor_cap``.
    """

    def __init__(self, characters=0, module_cap=TENSOR_BYTES_MARGIN):
        self.array_cap = ARRAY_BYTES_PER_CHARACTER * characters + ARRAY_BYTES_MARGIN
        self.module_cap = module_cap
        self.spent = 0

    def spend_array(self, nbytes):
        """Count an array about to be built; ``ValueError`` beyond the cap."""
        self.spent += nbytes
        if self.spent > self.array_cap:
            raise ValueError(
                f"its arrays declare more than {self.spent:,} bytes, while its "
                f"JSON text allows at most {self.array_cap:,}"
            )

    def check_module(self, build, what):
        """Build a module on torch's meta device, which allocates nothing, and
        raise ``ValueError`` if its weights would exceed the cap.

        A module that cannot be built there (one reading its own weights'
        values while built) is left to the real build.
        """
        try:
            with torch.device("meta"):
                nbytes = module_bytes(build())
        except Exception:  # noqa: BLE001  (any error is the real build's to report)
            return
        if nbytes > self.module_cap:
            raise ValueError(
                f"{what} its parameters describe would hold {nbytes:,} bytes of "
                f"weights, while the checkpoint's tensor data allow at most "
                f"{self.module_cap:,}"
            )
