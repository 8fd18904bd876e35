"""scikit-learn's estimator checks on the drop-ins.

With MLP's defaults they pass every check scikit-learn's own
``MLPClassifier`` (67) and ``MLPRegressor`` (60) pass: no expected
failures. That run is slow (200 epochs a fit); the fast tier runs the same
checks on a 5-epoch network, which is below the accuracy bars of the
training checks and is expected to fail those alone.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnestimators import MLPClassifier, MLPRegressor

QUICK = {"hidden_layer_sizes": (8,), "max_iter": 5}
BELOW_THE_BAR = {
    name: "5 epochs: below scikit-learn's accuracy bar (the defaults pass it)"
    for name in ("check_classifiers_train", "check_regressors_train")
}


def _is_quick(estimator):
    return estimator.max_iter == QUICK["max_iter"]


def expected_failed_checks(estimator):
    return BELOW_THE_BAR if _is_quick(estimator) else {}


def _tiered(parametrize):
    """The defaults' cases marked slow."""
    argnames, cases = parametrize.args
    tiered = []
    for case in cases:
        case = case if hasattr(case, "marks") else pytest.param(*case)
        slow = not _is_quick(case.values[0])
        marks = [*case.marks, *([pytest.mark.slow] if slow else [])]
        tiered.append(pytest.param(*case.values, marks=marks, id=case.id))
    return pytest.mark.parametrize(argnames, tiered, **parametrize.kwargs)


ESTIMATORS = [
    MLPClassifier(),
    MLPRegressor(),
    MLPClassifier(**QUICK),
    MLPRegressor(**QUICK),
]


@_tiered(
    parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
