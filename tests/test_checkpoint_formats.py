"""Checkpoints keep the fitted target whole (format 3) and still read format 2."""

import hashlib
import json
import os

import numpy as np
import pytest
import scipy.sparse
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification, make_multilabel_classification

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.checkpoints import CheckpointError, CorruptCheckpointError
from nnestimators.checkpoints.integrity import checksums
from nnestimators.targets import BinaryTarget, LabelTarget, MultilabelTarget

SETTINGS = dict(n_threads=1, random_state=0, max_epochs=3, validation_fraction=0.25)


def _fit(estimator, X, y, checkpoint_dir):
    estimator.set_params(checkpoint_dir=checkpoint_dir, **SETTINGS)
    return estimator.fit(X, y)


@pytest.fixture(scope="module")
def table():
    X, y = make_classification(n_samples=160, n_features=6, random_state=0)
    return X.astype(np.float32), y


def test_multilabel_classifier_round_trip_stays_multilabel(tmp_path):
    X, Y = make_multilabel_classification(n_samples=160, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    fitted = _fit(NNClassifier(), X, Y, tmp_path)
    loaded = NNClassifier.from_checkpoint(fitted.checkpoint_path_)
    assert isinstance(loaded.target_, MultilabelTarget)
    assert loaded.predict(X).shape == Y.shape == fitted.predict(X).shape
    assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_string_label_classifier_round_trip(tmp_path, table):
    X, y = table
    labels = np.array(["spam", "ham"])[y]
    fitted = _fit(NNClassifier(), X, labels, tmp_path)
    loaded = NNClassifier.from_checkpoint(fitted.checkpoint_path_)
    assert_array_equal(loaded.classes_, ["ham", "spam"])
    assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert set(loaded.predict(X)) <= {"ham", "spam"}


def test_regressor_round_trip_keeps_the_target_scale(tmp_path, table):
    X, y = table
    values = X[:, 0] * 300.0 + 5000.0
    fitted = _fit(NNRegressor(), X, values, tmp_path)
    loaded = NNRegressor.from_checkpoint(fitted.checkpoint_path_)
    assert_array_equal(loaded.target_mean_, fitted.target_mean_)
    assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.predict(X).shape == values.shape


def test_binary_logit_classifier_round_trip(tmp_path, table):
    X, y = table
    fitted = _fit(NNBinaryClassifier(), X, y + 5, tmp_path)
    loaded = NNBinaryClassifier.from_checkpoint(fitted.checkpoint_path_)
    assert isinstance(loaded.target_, BinaryTarget)
    assert_array_equal(loaded.decision_function(X), fitted.decision_function(X))
    assert_array_equal(loaded.predict(X), fitted.predict(X))


# -- format 2 ------------------------------------------------------------------


def test_sparse_input_classifier_round_trip(tmp_path, table):
    X, y = table
    X = scipy.sparse.csr_matrix(np.where(np.abs(X) > 1, X, 0))
    fitted = _fit(NNClassifier(), X, y, tmp_path)
    loaded = NNClassifier.from_checkpoint(fitted.checkpoint_path_)
    assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def _as_format_2(folder):
    """Rewrite a format-3 checkpoint as format 2 wrote it: the target's parts."""
    file = os.path.join(folder, "checkpoint.pt")
    payload = torch.load(file, weights_only=True)
    config = json.loads(payload["config"])
    fitted = config["fitted"]
    target = fitted.pop("target_")
    if target["kind"] == "values":
        fitted["target_mean_"] = target["mean"]
        fitted["target_scale_"] = target["scale"]
        fitted["_target_ndim"] = target["ndim"]
    else:
        fitted["classes_"] = target["classes"]
    config["format_version"] = payload["format_version"] = 2
    payload["config"] = json.dumps(config)
    payload["checksums"] = checksums(payload)
    torch.save(payload, file)


def test_format_2_regressor_and_string_classifier_load(tmp_path, table):
    X, y = table
    values = X[:, 1] * 40.0 - 900.0
    regressor = _fit(NNRegressor(), X, values, tmp_path / "r")
    labels = np.array(["no", "yes"])[y]
    classifier = _fit(NNClassifier(), X, labels, tmp_path / "c")
    for fitted in (regressor, classifier):
        _as_format_2(fitted.checkpoint_path_)
        loaded = type(fitted).from_checkpoint(fitted.checkpoint_path_)
        assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert isinstance(loaded.target_, LabelTarget)


def test_format_2_classifier_of_codes_asks_whether_it_was_multilabel(tmp_path):
    X, Y = make_multilabel_classification(n_samples=160, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    fitted = _fit(NNClassifier(), X, Y, tmp_path)
    _as_format_2(fitted.checkpoint_path_)
    with pytest.raises(CheckpointError, match="target_kind='multilabel'"):
        NNClassifier.from_checkpoint(fitted.checkpoint_path_)
    loaded = NNClassifier.from_checkpoint(
        fitted.checkpoint_path_, target_kind="multilabel"
    )
    assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.predict(X).shape == Y.shape


def test_format_2_binary_classifier_loads(tmp_path, table):
    X, y = table
    fitted = _fit(NNBinaryClassifier(), X, y, tmp_path)
    _as_format_2(fitted.checkpoint_path_)
    loaded = NNBinaryClassifier.from_checkpoint(fitted.checkpoint_path_)
    assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_unknown_target_kind_is_corrupt(tmp_path, table):
    X, y = table
    fitted = _fit(NNClassifier(), X, y, tmp_path)
    file = os.path.join(fitted.checkpoint_path_, "checkpoint.pt")
    payload = torch.load(file, weights_only=True)
    config = json.loads(payload["config"])
    config["fitted"]["target_"]["kind"] = "os.system"
    payload["config"] = json.dumps(config)
    payload["checksums"]["config"] = hashlib.sha256(
        payload["config"].encode()
    ).hexdigest()
    torch.save(payload, file)
    with pytest.raises(CorruptCheckpointError, match="target kind"):
        NNClassifier.from_checkpoint(fitted.checkpoint_path_)
