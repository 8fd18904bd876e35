"""skorch's constructor parameters and subclass attributes, scikit-learn's way.

``classes=`` names the full label set for array input as for a torch
Dataset; attributes a subclass sets outside ``__init__`` are state, never
parameters that ``clone`` would pass back to ``__init__``.
"""

import copy
import pickle

import fit_settings
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from nnestimators import NNBinaryClassifier, NNClassifier

# Tiny inputs: small batches give several steps an epoch; quiet.
FAST = {**fit_settings.FAST, "max_epochs": 2, "batch_size": 16, "verbose": 0}


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(
        n_samples=60, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    return X.astype(np.float32), y


# -- classes= ---------------------------------------------------------------


def test_classes_parameter_is_the_full_label_set(three_classes):
    X, y = three_classes  # labels 0, 1, 2
    net = NNClassifier(classes=[0, 1, 2, 3], **FAST).fit(X, y)
    np.testing.assert_array_equal(net.classes_, [0, 1, 2, 3])
    assert net.n_outputs_ == 4
    assert net.predict_proba(X).shape == (len(X), 4)
    assert set(net.predict(X)) <= {0, 1, 2, 3}
    assert "classes" in net.get_params() and clone(net).classes == [0, 1, 2, 3]


def test_classes_parameter_keeps_its_order(three_classes):
    X, y = three_classes
    labels = np.array(["a", "b", "c"])[y]
    net = NNClassifier(classes=["c", "a", "b"], **FAST).fit(X, labels)
    np.testing.assert_array_equal(net.classes_, ["c", "a", "b"])
    codes = net.target_.encode(np.array(["a", "b", "c"]))
    np.testing.assert_array_equal(codes, [1, 2, 0])
    assert set(net.predict(X)) <= {"a", "b", "c"}
    assert net.predict_proba(X).shape == (len(X), 3)


def test_classes_parameter_streams_chunks_of_one_class(three_classes):
    X, y = three_classes
    net = NNClassifier(classes=[0, 1, 2], **FAST)
    for label in (0, 1, 2):
        net.partial_fit(X[y == label], y[y == label])
    np.testing.assert_array_equal(net.classes_, [0, 1, 2])
    assert len(net.history_) == 3
    # partial_fit's own classes= agrees with the parameter (in any order).
    net.partial_fit(X[y == 0], y[y == 0], classes=[2, 1, 0])
    # Without classes=, a one-class first chunk is still refused.
    with pytest.raises(ValueError, match="at least 2 classes"):
        NNClassifier(**FAST).partial_fit(X[y == 0], y[y == 0])


def test_binary_classes_parameter_streams_chunks_of_one_class(three_classes):
    X, y = three_classes
    X, y = X[y < 2], y[y < 2]
    net = NNBinaryClassifier(classes=[0, 1], **FAST)
    net.partial_fit(X[y == 1], y[y == 1]).partial_fit(X[y == 0], y[y == 0])
    np.testing.assert_array_equal(net.classes_, [0, 1])
    assert net.predict_proba(X).shape == (len(X), 2)


def test_classes_parameter_refuses_labels_it_does_not_name(three_classes):
    X, y = three_classes
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes`"):
        NNClassifier(classes=[0, 1], **FAST).fit(X, y)
    with pytest.raises(ValueError, match="more than once"):
        NNClassifier(classes=[0, 1, 1, 2], **FAST).fit(X, y)
    with pytest.raises(ValueError, match="not the same as the classes parameter"):
        NNClassifier(classes=[0, 1, 2], **FAST).partial_fit(X, y, classes=[0, 1, 3])


# -- attributes set outside __init__ are state -------------------------------


class _CountsRows(NNClassifier):
    def fit(self, X, y=None, **fit_params):
        self.n_train_rows = len(X)  # bookkeeping, not a parameter
        return super().fit(X, y, **fit_params)


class _MarksInitialize(NNClassifier):
    def initialize(self):
        self.built_by = "initialize"
        return super().initialize()


class _Regularized(NNClassifier):
    def __init__(self, *args, lambda1=0.01, **kwargs):
        super().__init__(*args, **kwargs)
        self.lambda1 = lambda1

    def fit(self, X, y=None, **fit_params):
        self.fits = getattr(self, "fits", 0) + 1
        return super().fit(X, y, **fit_params)


def test_attribute_set_in_fit_before_initialize_is_state(three_classes):
    X, y = three_classes
    net = _CountsRows(**FAST)
    before = net.get_params()
    net.fit(X, y)
    assert net.n_train_rows == len(X)
    assert "n_train_rows" not in net.get_params()
    assert net.get_params().keys() == before.keys()
    assert clone(net).fit(X, y).n_train_rows == len(X)


def test_attribute_set_in_initialize_is_state(three_classes):
    X, y = three_classes
    net = _MarksInitialize(module__n_features=5, module__n_outputs=3, **FAST)
    before = net.get_params()
    net.initialize()
    assert net.built_by == "initialize"
    assert net.get_params().keys() == before.keys()
    clone(net).fit(X, y)
    assert "built_by" not in clone(net).get_params()


def test_skorch_style_subclass_parameters_survive_set_params_pickle_and_clone(
    three_classes,
):
    X, y = three_classes
    net = _Regularized(lambda1=0.5, **FAST)
    assert net.set_params(lambda1=0.25) is net
    assert net.get_params()["lambda1"] == 0.25
    net.fit(X, y)
    assert net.fits == 1
    params = net.get_params()
    assert "fits" not in params and params["lambda1"] == 0.25
    net.set_params(lambda1=0.75)
    assert net.get_params()["lambda1"] == 0.75
    for twin in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert "fits" not in twin.get_params() and twin.fits == 1
        assert twin.get_params()["lambda1"] == 0.75
        twin.fit(X, y)
        assert twin.fits == 2 and "fits" not in twin.get_params()
    fresh = clone(net)
    assert fresh.lambda1 == 0.75 and "fits" not in fresh.__dict__
    fresh.fit(X, y)
    assert "_init_depth" not in fresh.__dict__
