"""From validated X to the network's raw outputs, in bounded chunks.

Arrays are predicted in chunks of one fixed size straight through ``infer``,
so that a row's prediction never depends on the rows predicted with it;
datasets, a user's ``dataset=`` and subclasses that replace a step of
skorch's prediction go through skorch's ``forward_iter``.
"""

import torch
from skorch.utils import is_dataset

from . import validation
from .data import (
    batch_tensor,
    first_output,
    module_input_dtype,
    prediction_chunks,
    prediction_rows,
    torch_readable,
)
from .overrides import predicts_through_skorch, uses_custom_dataset
from .training.outputs import full_precision, recognise, to_probabilities


class OutputReading:
    """How an estimator's raw outputs are read as scores, for its target.

    ``own_probabilities(raw)`` gives the module's own probabilities (a
    module ending in softmax or sigmoid: ``module_outputs_``), or None for
    logits; ``nonlinearity(raw)`` applies ``predict_nonlinearity`` as skorch
    resolves it; ``threshold`` is a binary classifier's. Read when used, so
    that a reading made before the network is built follows what it builds.
    """

    def __init__(self, net):
        self.net = net

    @property
    def threshold(self):
        return getattr(self.net, "threshold", 0.5)

    def nonlinearity(self, raw):
        return self.net._get_predict_nonlinearity()(raw)

    def own_probabilities(self, raw):
        net = self.net
        if net.predict_nonlinearity != "auto":
            return None  # applied as given
        kind = net.__dict__.get("module_outputs_")
        if kind is None and net._target().kind == "labels":
            kind, _ = recognise(raw)  # a net no fit or probe has read: values
        return to_probabilities(kind, raw)


def raw_outputs(net, X, thread_count):
    """The network's outputs for ``X`` as one CPU tensor.

    ``thread_count(rows)`` gives the torch threads for chunks of ``rows``.
    """
    net.check_is_fitted()  # skorch's NotInitializedError, a NotFittedError
    net._get_predict_nonlinearity()  # skorch's TypeError before any work
    if is_dataset(X):  # skorch's general path (and its callbacks' caching)
        return dataset_outputs(net, X)
    dtype = module_input_dtype(net.__dict__.get("module_"))
    # X keeps its layout and dtype: each chunk is converted as it is copied.
    X = validation.check_X(net, X, reset=False, dtype=dtype, cast=False)
    if uses_custom_dataset(net) or predicts_through_skorch(net):
        # Rows reach the network as skorch sends them: through the user's
        # dataset, or through the user's overrides of skorch's steps. Its
        # DataLoader wraps each row as a tensor, so a negative stride costs
        # a copy here.
        X = torch_readable(validation.cast_X(X, dtype))
        return dataset_outputs(net, X)  # forward_iter calls get_dataset
    net._set_training(False)
    recognise_before_predicting(net, X, dtype)
    outputs = []
    rows = prediction_rows(X) if not isinstance(X, dict) else len(X)
    with torch.inference_mode(), thread_count(rows):
        for chunk, n_rows in chunks(X, net.device_, dtype):
            output = first_output(net.infer(chunk))[:n_rows]
            outputs.append(full_precision(output).cpu())
    return torch.cat(outputs)


def dataset_outputs(net, data):
    """The outputs of skorch's ``forward_iter`` over ``data``, concatenated."""
    outputs = net.forward_iter(data, device="cpu")
    return torch.cat([full_precision(first_output(y).detach()).cpu() for y in outputs])


def recognise_before_predicting(net, X, dtype=None):
    """Read what the module returns from one row's graph, where no fit did.

    A net restored with ``initialize(); load_params(...)`` has seen no
    training batch; one row through the module with gradients on shows its
    last operation (softmax, sigmoid, ...), once.
    """
    target = net._target()
    if (
        target.task != "classification"
        or "module_outputs_" in net.__dict__
        or net.predict_nonlinearity != "auto"
    ):
        return
    first = (
        {key: value[:1] for key, value in X.items()} if isinstance(X, dict) else X[:1]
    )
    chunk, n_rows = next(chunks(first, net.device_, dtype))
    if isinstance(chunk, torch.Tensor) and chunk.is_floating_point():
        chunk = chunk.detach().requires_grad_(True)  # a graph even if frozen
    with torch.enable_grad():
        output = first_output(net.infer(chunk))
    kind, _ = recognise(output[:n_rows], target.kind in ("binary", "multilabel"))
    if kind is not None:
        net.module_outputs_ = kind


def chunks(X, device, dtype=None):
    """Yield ``(chunk, n_rows)`` of X on ``device``, an array's in the
    ``InputDtype`` ``dtype``; a dict of arrays in chunks of 65,536 rows."""
    if isinstance(X, dict):
        n = len(next(iter(X.values())))
        step = 65536
        for start in range(0, n, step):
            chunk = batch_tensor(
                {key: value[start : start + step] for key, value in X.items()}, device
            )
            yield chunk, len(next(iter(chunk.values())))
        return
    target = None if dtype is None else validation.batch_dtype(X, dtype)
    yield from prediction_chunks(X, device, target)
