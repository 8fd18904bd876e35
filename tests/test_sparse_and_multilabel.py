"""What MLPClassifier users rely on: sparse input, multilabel targets, its warnings."""

import warnings

import fit_settings
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor

FAST = {**fit_settings.FAST, "max_epochs": 5}


def _texts(n=600, seed=0):
    """Short made-up reviews whose words carry the label, with noise words."""
    rng = np.random.default_rng(seed)
    good = ["great", "excellent", "love", "wonderful", "best", "fine", "happy"]
    bad = ["awful", "terrible", "hate", "worst", "boring", "poor", "sad"]
    filler = [f"w{i}" for i in range(300)]
    labels = rng.integers(0, 3, size=n)
    docs = []
    for label in labels:
        words = list(rng.choice(filler, size=12))
        if label == 0:
            words += list(rng.choice(bad, size=2))
        elif label == 2:
            words += list(rng.choice(good, size=2))
        else:
            words += [rng.choice(good), rng.choice(bad)]
        rng.shuffle(words)
        docs.append(" ".join(words))
    return np.array(docs), np.array(["negative", "mixed", "positive"])[labels]


@pytest.mark.slow
def test_tfidf_text_pipeline_beats_a_linear_baselines_floor():
    docs, labels = _texts()
    train_docs, test_docs, train_y, test_y = train_test_split(
        docs, labels, random_state=0, stratify=labels
    )
    linear = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    floor = linear.fit(train_docs, train_y).score(test_docs, test_y) - 0.05
    model = make_pipeline(
        TfidfVectorizer(), NNClassifier(random_state=0, max_epochs=40, lr=1e-2)
    )
    assert model.fit(train_docs, train_y).score(test_docs, test_y) >= floor


@pytest.mark.parametrize("Estimator", [NNBinaryClassifier, NNClassifier, NNRegressor])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_and_dense_inputs_train_identically(Estimator, fmt):
    X, y = make_classification(n_samples=120, n_features=20, random_state=0)
    X[np.abs(X) < 0.8] = 0.0
    dense = Estimator(**FAST).fit(X, y)
    sparse = Estimator(**FAST).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(
        dense.history_frame()["train_loss"],
        sparse.history_frame()["train_loss"],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        dense.predict(X), sparse.predict(sp.csr_matrix(X)), rtol=1e-5
    )


def test_sparse_rows_are_densified_batch_by_batch(monkeypatch):
    # 200k x 50k: densified whole it would take 40 GB.
    rng = np.random.default_rng(0)
    n_rows, n_cols = 200_000, 50_000
    X = sp.random(
        n_rows, n_cols, density=2e-5, format="csr", random_state=rng, dtype=np.float32
    )
    y = rng.integers(0, 2, size=n_rows)
    densified = []
    original = sp.csr_matrix.toarray

    def recording(self, *args, **kwargs):
        densified.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", recording)

    class StopAfterFewBatches(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if len(net.history_[-1]["batches"]) == 5:
                raise KeyboardInterrupt  # skorch's way to end a fit early

    model = NNClassifier(
        batch_size=64,
        max_epochs=1,
        module__hidden_units=(4,),
        callbacks=[StopAfterFewBatches()],
        random_state=0,
    ).fit(X, y)
    assert densified and max(densified) <= 64
    assert model.predict(X[:10]).shape == (10,)
    assert max(densified) <= 65536  # prediction densifies bounded chunks too


def test_multilabel_targets_fit_like_mlp():
    X, Y = make_multilabel_classification(
        n_samples=200, n_features=10, n_classes=4, random_state=0
    )
    model = NNClassifier(
        **{**FAST, "max_epochs": 30},
        validation_fraction=0.2,
        metrics=["f1_samples", "roc_auc"],
    ).fit(X, Y)
    np.testing.assert_array_equal(model.classes_, np.arange(4))
    predicted = model.predict(X)
    assert predicted.shape == Y.shape and set(np.unique(predicted)) <= {0, 1}
    proba = model.predict_proba(X)
    assert proba.shape == Y.shape and np.all((proba >= 0) & (proba <= 1))
    row = model.history_[-1]
    for key in ("train_f1_samples", "valid_f1_samples", "valid_roc_auc"):
        assert 0.0 <= row[key] <= 1.0
    assert model.score(X, Y) > 0.2  # subset accuracy, as MLPClassifier's
    assert model.criterion_.__class__.__name__ == "BCEWithLogitsLoss"


def test_multilabel_with_class_weight_is_a_clear_error():
    X, Y = make_multilabel_classification(n_samples=50, n_classes=3, random_state=0)
    with pytest.raises(
        ValueError, match="class_weight is not supported for multilabel"
    ):
        NNClassifier(**FAST, class_weight="balanced").fit(X, Y)


def test_multiclass_roc_auc_is_one_vs_rest():
    X, y = make_classification(
        n_samples=150, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = NNClassifier(**FAST, validation_fraction=0.3, metrics=["roc_auc"]).fit(
            X, y
        )
    assert 0.5 < model.history_[-1, "valid_roc_auc"] <= 1.0


def test_predict_log_proba_is_the_log_of_predict_proba():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    for Estimator in (NNClassifier, NNBinaryClassifier):
        model = Estimator(**FAST).fit(X, y)
        np.testing.assert_allclose(
            np.exp(model.predict_log_proba(X)), model.predict_proba(X), rtol=1e-6
        )


def test_convergence_warning_when_early_stopping_never_triggers():
    X, y = make_classification(n_samples=200, n_features=8, random_state=0)
    with pytest.warns(ConvergenceWarning, match="early stopping never triggered"):
        NNClassifier(**{**FAST, "max_epochs": 3}, patience=50).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        NNClassifier(**{**FAST, "max_epochs": 3}).fit(X, y)


def test_tiny_validation_split_is_refused():
    X, y = make_classification(n_samples=12, n_features=4, random_state=0)
    with pytest.raises(ValueError, match="validation set is too small"):
        NNRegressor(**FAST, validation_fraction=0.05).fit(X, y.astype(float))


def test_unstratifiable_split_warns():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    y[0] = 2  # a class with one row cannot be stratified
    with pytest.warns(UserWarning, match="could not be stratified"):
        NNClassifier(**FAST, validation_fraction=0.2).fit(X, y)
