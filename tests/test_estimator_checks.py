"""scikit-learn's own estimator checks on the three estimators.

Each estimator is checked with its defaults and with three configurations
users reach for: (b) a validation split with early stopping, metrics,
dropout, batch norm and a cosine schedule; (c) a user module with its own
constructor arguments (``hidden``) and SGD with momentum; (d) a user module
that takes ``input_shape`` instead of ``n_features``. (b)-(d) train for few
epochs so that the checks stay fast.

The fast tier (``-m "not slow"``) runs the defaults' quick checks: not those
that train to scikit-learn's accuracy bars or repeat fits on sparse input,
array-likes or read-only memory maps (``_is_slow``). CI runs them all.
"""

import math

import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor

# Integer weights bit-equal to repeated rows: minibatch training in float32
# cannot meet it, and scikit-learn expects SGDClassifier to fail it too.
# The same check on sparse input, granted to SGDClassifier alike.
EXPECTED_FAILURES = {
    f"check_sample_weight_equivalence_on_{kind}_data": (
        "minibatch SGD: repeated rows change the batches, as for SGDClassifier"
    )
    for kind in ("dense", "sparse")
}

FEW_EPOCHS = 20


class TinyNet(nn.Module):
    """A user module: shapes from the estimator, ``hidden`` from the user."""

    def __init__(self, n_features, n_outputs, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs)
        )

    def forward(self, X):
        return self.layers(X)


class ShapeNet(nn.Module):
    """A user module that asks for ``input_shape`` (one sample's shape)."""

    def __init__(self, input_shape, n_outputs, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(input_shape), hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_outputs),
        )

    def forward(self, X):
        return self.layers(X)


def _configurations(Estimator, metric):
    return [
        # (a) the defaults
        Estimator(),
        # (b) validation split, early stopping, metrics, MLP options, schedule
        Estimator(
            lr=0.01,
            max_epochs=FEW_EPOCHS,
            validation_fraction=0.2,
            patience=3,
            metrics=[metric],
            module__dropout=0.1,
            module__batch_norm=True,
            lr_schedule="cosine",
        ),
        # (c) a user module with its own argument, SGD with momentum
        Estimator(
            module=TinyNet,
            module__hidden=8,
            optimizer=torch.optim.SGD,
            optimizer__momentum=0.9,
            lr=0.01,
            max_epochs=FEW_EPOCHS,
        ),
        # (d) a user module that takes input_shape
        Estimator(module=ShapeNet, lr=0.01, max_epochs=FEW_EPOCHS),
    ]


ESTIMATORS = [
    *_configurations(NNBinaryClassifier, "accuracy"),
    *_configurations(NNClassifier, "accuracy"),
    *_configurations(NNRegressor, "r2"),
]


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES


# Checks that fit to scikit-learn's accuracy bars, or fit and predict again on
# sparse input or on array-likes: seconds each with the defaults' 200 epochs.
# The expected failures go with them: they cannot fail the run.
SLOW_CHECKS = {
    "check_classifiers_train",
    "check_regressors_train",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_classifier_data_not_an_array",
    "check_regressor_data_not_an_array",
    *EXPECTED_FAILURES,
}


def _is_slow(estimator, check):
    """All but the defaults' quick checks, and their read-only memmap repeats."""
    is_default = repr(estimator) == f"{type(estimator).__name__}()"
    is_repeat = "readonly_memmap" in check.keywords
    return not is_default or is_repeat or check.func.__name__ in SLOW_CHECKS


def _tiered(parametrize):
    """``parametrize_with_checks``' cases, those ``_is_slow`` picks marked slow."""
    argnames, cases = parametrize.args
    tiered = []
    for case in cases:
        case = case if hasattr(case, "marks") else pytest.param(*case)
        marks = [*case.marks, *([pytest.mark.slow] if _is_slow(*case.values) else [])]
        tiered.append(pytest.param(*case.values, marks=marks, id=case.id))
    return pytest.mark.parametrize(argnames, tiered, **parametrize.kwargs)


@_tiered(
    parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
