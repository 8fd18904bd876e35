"""X's dtype follows the module: int64 token ids for embeddings, float64 for a
float64 module, float32 otherwise (the built-in modules)."""

import fit_settings
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor
from nnestimators.modules import MLP

# Tiny inputs: small batches give several steps an epoch; quiet.
FAST = {**fit_settings.FAST, "max_epochs": 2, "batch_size": 16, "verbose": 0}
VOCAB = 30


def _tokens(n=64, length=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, VOCAB, size=(n, length)).astype(np.int64)
    y = (X[:, 0] >= VOCAB // 2).astype(np.int64)
    return X, y


class _Recording(torch.nn.Module):
    """Keeps the dtypes its forward receives."""

    def record(self, X):
        if not hasattr(self, "seen"):
            self.seen = set()
        self.seen.add(X.dtype)


class BagOfEmbeddings(_Recording):
    def __init__(self, n_outputs=2, vocab=VOCAB, dim=8):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.out = torch.nn.Linear(dim, n_outputs)

    def forward(self, X):
        self.record(X)
        return self.out(self.embed(X).mean(dim=1))


class GRUText(_Recording):
    def __init__(self, n_outputs=2, vocab=VOCAB, dim=8):
        super().__init__()
        # Deep inside a container: any submodule counts.
        self.encoder = torch.nn.Sequential(torch.nn.Embedding(vocab, dim))
        self.rnn = torch.nn.GRU(dim, 8, batch_first=True)
        self.out = torch.nn.Linear(8, n_outputs)

    def forward(self, X):
        self.record(X)
        _, hidden = self.rnn(self.encoder(X))
        return self.out(hidden[-1])


class EmbeddingBagModule(_Recording):
    def __init__(self, n_outputs=1, vocab=VOCAB, dim=8):
        super().__init__()
        self.bag = torch.nn.EmbeddingBag(vocab, dim, mode="mean")
        self.out = torch.nn.Linear(dim, n_outputs)

    def forward(self, X):
        self.record(X)
        return self.out(self.bag(X))


class DoubleModule(_Recording):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.hidden = torch.nn.Linear(n_features, 8)
        self.out = torch.nn.Linear(8, n_outputs)
        self.double()

    def forward(self, X):
        self.record(X)
        return self.out(torch.relu(self.hidden(X)))


class Float64Layers(_Recording):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.layer = torch.nn.Linear(n_features, n_outputs, dtype=torch.float64)

    def forward(self, X):
        self.record(X)
        return self.layer(X)


class RecordingMLP(MLP):
    def forward(self, X):
        if not hasattr(self, "seen"):
            self.seen = set()
        self.seen.add(X.dtype)
        return super().forward(X)


@pytest.mark.parametrize("module", [BagOfEmbeddings, GRUText])
def test_embedding_classifier_takes_int64_token_ids(module):
    X, y = _tokens()
    net = NNClassifier(module=module, **FAST).fit(X, y)
    assert net.module_.seen == {torch.int64}
    assert net.predict(X).shape == (len(X),)
    proba = net.predict_proba(X[:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert 0 <= net.score(X, y) <= 1
    # Narrower integer ids become the int64 indices nn.Embedding wants.
    np.testing.assert_array_equal(net.predict(X.astype(np.int32)), net.predict(X))
    np.testing.assert_array_equal(net.predict(X.astype(np.uint8)), net.predict(X))
    assert net.module_.seen == {torch.int64}


def test_embedding_classifier_in_grid_search_and_clone():
    X, y = _tokens(n=60)
    net = NNClassifier(module=BagOfEmbeddings, **FAST)
    first = clone(net).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(clone(net).fit(X, y).predict_proba(X), first)
    search = GridSearchCV(net, {"module__dim": [4, 8]}, cv=2).fit(X, y)
    assert search.best_estimator_.module_.seen == {torch.int64}
    assert search.predict(X).shape == (len(X),)


def test_embedding_classifier_partial_fit_and_validation_data():
    X, y = _tokens()
    net = NNClassifier(module=BagOfEmbeddings, validation_fraction=0.25, **FAST)
    net.partial_fit(X[:32], y[:32], classes=[0, 1])
    net.partial_fit(X[32:], y[32:])
    assert len(net.history_) == 2
    assert np.isfinite(net.history_[-1, "valid_loss"])
    assert net.module_.seen == {torch.int64}
    net = NNClassifier(module=GRUText, **FAST)
    net.fit(X[:48], y[:48], validation_data=(X[48:].astype(np.int32), y[48:]))
    assert np.isfinite(net.history_[-1, "valid_loss"])
    assert net.module_.seen == {torch.int64}


def test_embedding_bag_binary_classifier_and_regressor():
    X, y = _tokens()
    binary = NNBinaryClassifier(module=EmbeddingBagModule, **FAST).fit(X, y)
    assert binary.module_.seen == {torch.int64}
    assert binary.predict_proba(X).shape == (len(X), 2)
    target = X[:, 0] / VOCAB
    regressor = NNRegressor(module=BagOfEmbeddings, **FAST).fit(X, target)
    assert regressor.module_.seen == {torch.int64}
    assert regressor.predict(X).shape == (len(X),)
    assert np.isfinite(regressor.score(X, target))


def test_embedding_module_after_initialize_predicts_int_ids():
    X, _ = _tokens(n=10)
    net = NNClassifier(module=BagOfEmbeddings, module__n_outputs=2, **FAST)
    net.initialize()
    assert net.predict_proba(X).shape == (10, 2)
    assert net.module_.seen == {torch.int64}


@pytest.mark.parametrize("module", [DoubleModule, Float64Layers])
def test_float64_module_gets_float64_X(module):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(48, 5))
    target = X @ rng.normal(size=5)
    regressor = NNRegressor(module=module, **FAST).fit(X, target)
    assert regressor.module_.seen == {torch.float64}
    assert np.isfinite(regressor.predict(X)).all()
    # Any numeric X, float32 or integers too, is converted to float64.
    assert regressor.predict(X.astype(np.float32)).shape == (48,)
    assert regressor.predict(np.rint(X).astype(np.int64)).shape == (48,)
    assert regressor.module_.seen == {torch.float64}
    labels = (X[:, 0] > 0).astype(int)
    classifier = NNClassifier(module=module, **FAST).fit(X.astype(np.float32), labels)
    assert classifier.module_.seen == {torch.float64}
    assert classifier.predict(X).shape == (48,)
    binary = NNBinaryClassifier(module=module, **FAST).fit(X, labels)
    assert binary.module_.seen == {torch.float64}
    assert binary.predict_proba(X).shape == (48, 2)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_values_beyond_float32_only_refused_by_float32_modules():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    X[0, 0] = 1e39  # finite in float64, infinite in float32
    y = rng.normal(size=40)
    net = NNRegressor(module=Float64Layers, **FAST).fit(X, y)
    assert net.module_.seen == {torch.float64}
    with pytest.raises(ValueError, match="too large for dtype\\('float32'\\)"):
        NNRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="too large for dtype\\('float32'\\)"):
        NNRegressor(**FAST).fit(X[1:], y[1:]).predict(X)


@pytest.mark.parametrize("sparse", [False, True])
def test_int_X_is_float32_for_mlp_and_int64_for_embeddings(sparse):
    X, y = _tokens()
    given = sp.csr_matrix(X) if sparse else X
    mlp = NNClassifier(module=RecordingMLP, **FAST).fit(given, y)
    assert mlp.module_.seen == {torch.float32}
    mlp.predict(given)
    assert mlp.module_.seen == {torch.float32}
    # The same as giving the float32 values: the built-in modules compute in
    # float32, whatever numeric dtype X has (float64 and int alike).
    as_float = NNClassifier(module=RecordingMLP, **FAST).fit(X.astype(np.float32), y)
    np.testing.assert_array_equal(
        mlp.predict_proba(X.astype(np.float64)), as_float.predict_proba(X)
    )
    np.testing.assert_array_equal(mlp.predict_proba(given), as_float.predict_proba(X))
    # Sparse ids are unusual, but they are densified batch by batch as int64.
    text = NNClassifier(module=BagOfEmbeddings, **FAST).fit(given, y)
    assert text.predict(given).shape == (len(X),)
    assert text.module_.seen == {torch.int64}
