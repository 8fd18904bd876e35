"""scikit-learn's own estimator checks on the three estimators, default settings."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor

# Integer weights bit-equal to repeated rows: minibatch training in float32
# cannot meet it, and scikit-learn expects SGDClassifier to fail it too.
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "minibatch SGD: repeated rows change the batches, as for SGDClassifier"
    ),
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks(
    [NNBinaryClassifier(), NNClassifier(), NNRegressor()],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
