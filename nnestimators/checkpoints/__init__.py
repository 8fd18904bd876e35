"""Checkpoints of the best model of a fit, stored as plain data and tensors.

With ``checkpoint_dir`` set, every fit writes its best model so far into a
folder of its own, created atomically, so that concurrent fits (a grid search
with ``n_jobs``, Dask workers, several processes) never share one::

    checkpoint_dir/
        NNClassifier-20250131-142501-k2j5x0aq/   one fit: ``checkpoint_path_``
            checkpoint.pt     everything needed to rebuild the fitted estimator
            estimator.json    the same configuration, for people and tools
        NNClassifier-20250131-142502-9c1dh3vz/   another fit
            ...

``checkpoint.pt`` is the checkpoint. Each new best replaces it in a single
``os.replace`` of a fully written temporary file (``.tmp-*`` in the same
folder), so a crash or a full disk while writing leaves the previous best
intact. It is a dict that ``torch.load(path, weights_only=True)`` reads:

``"format"``, ``"format_version"``
    ``"nnestimators.checkpoint"`` and the layout version (3; version 2
    files, which stored the target's parts, still load).
``"checksums"``
    sha256 digests of ``"config"``, of ``"history"`` and of all tensors
    (``"module"``, ``"optimizer"``, ``"lr_scheduler"``, ``"tensors"``),
    verified on loading.
``"config"``
    JSON text: ``"class"`` (import path of the estimator class),
    ``"params"`` (``get_params(deep=False)`` encoded as below),
    ``"not_saved"`` (parameter name -> why it could not be stored),
    ``"fitted"`` (``n_features_in_``, ``feature_names_in_``,
    ``input_shape_``, ``n_outputs_``, ``device_``, ``best_epoch_``, ... and
    ``target_``, the fitted target's ``get_state()``),
    ``"training"`` (epochs, best epoch, monitor and its best value) and
    ``"versions"`` (of the libraries that wrote it).
``"history"``
    JSON text: the training history, one object per epoch.
``"module"``
    The module's ``state_dict``: the weights of the best epoch.
``"optimizer"``, ``"lr_scheduler"``
    Their ``state_dict``, so that ``warm_start`` resumes training; None when
    absent.
``"tensors"``
    Tensors that parameters hold (``criterion__weight``, say), referred to
    from the JSON by position.

``estimator.json`` holds the ``"config"`` text, indented. It is written
after ``checkpoint.pt`` and never read back.

In the JSON, values other than None, booleans, numbers, strings, lists and
dicts with string keys are written as one-key objects: ``{"__tuple__":
[...]}``, ``{"__dict__": [[key, value], ...]}``, ``{"__ndarray__": [...],
"dtype": ..., "shape": ...}``, ``{"__numpy__": value, "dtype": ...}``,
``{"__tensor__": position, ...}``, ``{"__torch_dtype__": name}``,
``{"__path__": text}``, ``{"__random_state__": state}``, ``{"__import__":
"module:qualname"}`` for classes and functions, and ``{"__object__":
"module:qualname", "params": {...}}`` for objects rebuilt from their
constructor arguments (the ``nnestimators.augment`` classes, say).

Trust model. A checkpoint is data, and loading one from elsewhere runs no
code of its choosing. ``checkpoint.pt`` is read with ``weights_only=True``
(tensors and plain values, never unpickled objects), after checking its zip
archive and the sha256 checksums recorded at writing; a damaged file raises
``CorruptCheckpointError``. The classes the JSON names are text looked up,
exactly and as a whole, among classes already imported: the built-in
allow-list (``torch.nn`` modules and losses, ``torch.optim`` optimizers and
learning-rate schedulers, ``nnestimators.modules``, ``nnestimators.augment``
and, as the checkpoint's own class, the nnestimators estimators; the
estimators hand these package classes in, nothing here imports them) and
what the caller trusts: ``from_checkpoint(path, trusted=[MyNet])``, or the
classes and functions passed again as parameters (``module=MyNet``). Any
other name is refused with ``UntrustedCheckpointError`` before it is
imported, listing the entries and how to trust them; no ``functools.partial``
and no object of an untrusted class is rebuilt from a file. Fitted
attributes and the history must be plain data (numbers, strings, arrays),
and a parameter passed to ``from_checkpoint`` replaces the stored one, which
is then not read at all. The target is rebuilt from a closed table of
target kinds. A checkpoint never decides where the program writes: its
``checkpoint_dir`` is not restored. Trusting a class means trusting its
constructor with arguments from the file: trust only what you would call
yourself.

Bounds. A file may also be built to exhaust memory or time. Before torch
reads it, the zip archive is checked from its directory alone
(``archive``): members stored uncompressed, within the file, not
overlapping, each once, with the names torch gives them, and a pickle
naming only what a payload needs; the archive's contents then add up to at
most the file's size, and nothing is decompressed. What torch read is then
walked once, counting, against caps the file's size sets (``limits``), before
checksums are computed slice by slice; the JSON's arrays are checked against
the items present and a byte budget before they are allocated. A file beyond
a cap raises ``CorruptCheckpointError`` saying which; the checkpoint guide
lists the caps.

A parameter with no stored form (a lambda, a ``functools.partial``, a
function defined inside another function, an object holding other state)
is listed in ``"not_saved"`` and must be passed again to
``from_checkpoint``.
"""

from .errors import (
    CheckpointError,
    CheckpointWriteError,
    CorruptCheckpointError,
    UntrustedCheckpointError,
)
from .layout import (  # noqa: F401  (the format's names, public as before)
    CHECKPOINT_FILE,
    DESCRIPTION_FILE,
    FORMAT,
    FORMAT_VERSION,
)
from .reader import load_checkpoint

# write_checkpoint saves through this name, so that tests can patch it here.
from .writer import check_checkpoint_dir, write_checkpoint

__all__ = [
    "CheckpointError",
    "CheckpointWriteError",
    "CorruptCheckpointError",
    "UntrustedCheckpointError",
    "check_checkpoint_dir",
    "load_checkpoint",
    "write_checkpoint",
]
