"""Checkpoints: the best model on disk, reloaded without unpickling, resumable."""

import functools
import hashlib
import json
import os
import shutil

import fit_settings
import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV

from nnestimators import NNBinaryClassifier, NNClassifier, NNRegressor, checkpoints
from nnestimators.augment import Compose, GaussianNoise, RandomFlip

FAST = fit_settings.REPRODUCIBLE  # epochs and splits are set test by test


def _table(n_samples=120, n_features=8, **kwargs):
    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, random_state=0, **kwargs
    )
    return X.astype(np.float32), y


def _fit_folders(checkpoint_dir):
    return sorted(p for p in checkpoint_dir.iterdir() if p.is_dir())


def _rewrite_config(folder, change):
    """Edit a checkpoint's config with ``change(config)``, checksum updated."""
    file = os.path.join(folder, "checkpoint.pt")
    payload = torch.load(file, weights_only=True)
    config = json.loads(payload["config"])
    change(config)
    payload["config"] = json.dumps(config)
    payload["checksums"]["config"] = hashlib.sha256(
        payload["config"].encode()
    ).hexdigest()
    torch.save(payload, file)


@pytest.fixture(scope="module")
def overfit(tmp_path_factory):
    """A wide net on noisy data: it overfits, so early stopping picks an epoch."""
    X, y = _table(n_features=40, n_informative=3, flip_y=0.2)
    checkpoint_dir = tmp_path_factory.mktemp("overfit")
    estimator = NNClassifier(
        module__hidden_units=(256,),
        lr=1e-2,
        validation_fraction=0.25,
        patience=5,
        max_epochs=60,
        checkpoint_dir=checkpoint_dir,
        **FAST,
    ).fit(X, y)
    return estimator, X, y, checkpoint_dir


def test_checkpoint_reloads_the_best_epoch(overfit):
    estimator, X, _, checkpoint_dir = overfit
    # Training went on past the best epoch, which restore_best_weights put back.
    assert len(estimator.history_) > estimator.best_epoch_
    [folder] = _fit_folders(checkpoint_dir)
    assert estimator.checkpoint_path_ == str(folder)

    for path in (folder, checkpoint_dir, folder / "checkpoint.pt"):
        loaded = NNClassifier.from_checkpoint(path)
        assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
        assert loaded.best_epoch_ == estimator.best_epoch_
        assert loaded.checkpoint_path_ == str(folder)
        # The history stops at the best epoch, when the checkpoint was written.
        assert len(loaded.history_) == estimator.best_epoch_
        assert loaded.history_[-1] == estimator.history_[estimator.best_epoch_ - 1]
        # Where a loaded estimator writes is the caller's choice, never the file's.
        expected = {**estimator.get_params(deep=False), "checkpoint_dir": None}
        assert loaded.get_params(deep=False) == expected


def test_checkpoint_is_plain_data(overfit):
    estimator, *_ = overfit
    folder = estimator.checkpoint_path_
    # weights_only refuses anything but tensors and plain values.
    payload = torch.load(os.path.join(folder, "checkpoint.pt"), weights_only=True)
    config = json.loads(payload["config"])
    assert config["class"] == "nnestimators.classifiers:NNClassifier"
    assert config["fitted"]["best_epoch_"] == estimator.best_epoch_
    assert config["training"]["best_epoch"] == estimator.best_epoch_
    assert config["not_saved"] == {}
    with open(os.path.join(folder, "estimator.json")) as file:
        assert json.load(file) == config
    assert sorted(os.listdir(folder)) == ["checkpoint.pt", "estimator.json"]


_UNPICKLED = []


def _record_unpickling():
    _UNPICKLED.append(True)


class _RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (_record_unpickling, ())


def test_loading_never_unpickles_objects(tmp_path):
    payload = {"format": checkpoints.FORMAT, "config": _RunsCodeWhenUnpickled()}
    torch.save(payload, tmp_path / "checkpoint.pt")
    with pytest.raises(ValueError, match="could run code"):
        NNClassifier.from_checkpoint(tmp_path)
    assert _UNPICKLED == []


def test_resumed_fit_continues_training_and_history(tmp_path):
    X, y = _table()
    estimator = NNClassifier(
        lr=1e-2, validation_fraction=0.25, max_epochs=6, checkpoint_dir=tmp_path, **FAST
    ).fit(X, y)
    loaded = NNClassifier.from_checkpoint(tmp_path, checkpoint_dir=tmp_path)
    saved_steps = loaded.optimizer_.state_dict()["state"][0]["step"]
    assert saved_steps > 0  # the optimizer's moments came back, not a fresh Adam

    n_done = len(loaded.history_)
    loaded.set_params(warm_start=True, max_epochs=3).fit(X, y)
    assert [row["epoch"] for row in loaded.history_] == list(range(1, n_done + 4))
    assert loaded.best_epoch_ >= estimator.best_epoch_
    # The continued fit updates its own folder, in the checkpoint_dir the
    # caller gave, instead of starting another.
    assert len(_fit_folders(tmp_path)) == 1
    again = NNClassifier.from_checkpoint(tmp_path)
    assert again.best_epoch_ == loaded.best_epoch_


def test_each_fit_gets_its_own_folder(tmp_path):
    X, y = _table()
    estimator = NNClassifier(
        validation_fraction=0.25, max_epochs=2, checkpoint_dir=tmp_path, **FAST
    )
    first = estimator.fit(X, y).checkpoint_path_
    second = estimator.fit(X, y).checkpoint_path_
    assert first != second
    assert [str(p) for p in _fit_folders(tmp_path)] == sorted([first, second])
    with pytest.raises(ValueError, match="2 fits") as error:
        NNClassifier.from_checkpoint(tmp_path)
    assert first in str(error.value) and second in str(error.value)


def test_missing_checkpoint_and_wrong_class(tmp_path, overfit):
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        NNClassifier.from_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError):
        NNClassifier.from_checkpoint(tmp_path / "absent")
    estimator, *_ = overfit
    with pytest.raises(ValueError, match="holds a NNClassifier, not a NNRegressor"):
        NNRegressor.from_checkpoint(estimator.checkpoint_path_)


def test_lambda_augment_must_be_passed_again(tmp_path):
    X, y = _table()
    augment = lambda batch: batch + 0.01 * torch.randn_like(batch)  # noqa: E731
    with pytest.warns(UserWarning, match="cannot store augment"):
        estimator = NNClassifier(
            augment=augment,
            validation_fraction=0.25,
            max_epochs=3,
            checkpoint_dir=tmp_path,
            **FAST,
        ).fit(X, y)
    with pytest.raises(ValueError, match=r"from_checkpoint\(path, augment=\.\.\.\)"):
        NNClassifier.from_checkpoint(tmp_path)
    loaded = NNClassifier.from_checkpoint(tmp_path, augment=augment)
    assert loaded.augment is augment
    assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


def test_augmentation_objects_are_saved_by_their_parameters(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((40, 1, 6, 6), dtype=np.float32)
    y = np.arange(40) % 2
    augment = Compose([RandomFlip(p=0.3), GaussianNoise(std=0.01)])
    NNClassifier(
        augment=augment,
        validation_fraction=0.25,
        max_epochs=2,
        checkpoint_dir=tmp_path,
        **FAST,
    ).fit(images, y)
    loaded = NNClassifier.from_checkpoint(tmp_path)
    assert isinstance(loaded.augment, Compose)
    assert repr(loaded.augment) == repr(augment)


def test_string_labels_round_trip(tmp_path):
    X, codes = _table(n_classes=3, n_informative=4)
    y = np.array(["cat", "dog", "eel"])[codes]
    estimator = NNClassifier(
        validation_fraction=0.25, max_epochs=3, checkpoint_dir=tmp_path, **FAST
    ).fit(X, y)
    loaded = NNClassifier.from_checkpoint(tmp_path)
    assert_array_equal(loaded.classes_, estimator.classes_)
    assert loaded.classes_.dtype == estimator.classes_.dtype
    assert_array_equal(loaded.predict(X), estimator.predict(X))


def test_regressor_with_two_targets_round_trips(tmp_path):
    X, y = make_regression(n_samples=100, n_features=5, n_targets=2, random_state=0)
    X, y = X.astype(np.float32), (y / y.std()).astype(np.float32)
    estimator = NNRegressor(
        validation_fraction=0.25, max_epochs=3, checkpoint_dir=tmp_path, **FAST
    ).fit(X, y)
    loaded = NNRegressor.from_checkpoint(tmp_path)
    assert loaded.predict(X).shape == (100, 2)
    assert_array_equal(loaded.predict(X), estimator.predict(X))


def test_dataframe_feature_names_round_trip(tmp_path):
    X, y = _table()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    estimator = NNClassifier(
        validation_fraction=0.25, max_epochs=3, checkpoint_dir=tmp_path, **FAST
    ).fit(frame, y)
    loaded = NNClassifier.from_checkpoint(tmp_path)
    assert_array_equal(loaded.feature_names_in_, estimator.feature_names_in_)
    assert_array_equal(loaded.predict_proba(frame), estimator.predict_proba(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"f0": "other"}))


def test_parameters_beyond_json_round_trip(tmp_path):
    X, y = _table()
    augment = functools.partial(torch.nn.functional.dropout, p=0.0)
    with pytest.warns(UserWarning, match="cannot store augment .*partial"):
        estimator = NNBinaryClassifier(
            lr=np.float64(1e-2),
            class_weight={0: 1.0, 1: 2.0},
            augment=augment,
            criterion__pos_weight=torch.tensor([1.5]),
            module__activation=torch.nn.Tanh,
            validation_fraction=0.25,
            max_epochs=3,
            checkpoint_dir=tmp_path,
            n_threads=1,
            random_state=np.random.RandomState(0),
        ).fit(X, y)
    # No partial is rebuilt from a file: it is passed again.
    with pytest.raises(ValueError, match=r"from_checkpoint\(path, augment=\.\.\.\)"):
        NNBinaryClassifier.from_checkpoint(tmp_path)
    loaded = NNBinaryClassifier.from_checkpoint(tmp_path, augment=augment)
    assert type(loaded.lr) is np.float64 and loaded.lr == estimator.lr
    # Saved although the numpy lr sits in the optimizer's param_groups.
    assert loaded.optimizer_.state_dict()["state"]
    assert loaded.class_weight == {0: 1.0, 1: 2.0}
    assert loaded.augment is augment
    assert torch.equal(loaded.criterion__pos_weight, estimator.criterion__pos_weight)
    assert loaded.module__activation is torch.nn.Tanh
    assert isinstance(loaded.random_state, np.random.RandomState)
    assert loaded.checkpoint_dir is None  # never restored from the file
    assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


@pytest.mark.slow
def test_grid_search_fits_write_separate_checkpoints(tmp_path):
    X, y = _table()
    search = GridSearchCV(
        NNClassifier(
            validation_fraction=0.25, max_epochs=3, checkpoint_dir=tmp_path, **FAST
        ),
        {"lr": [1e-2, 1e-3]},
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    folders = _fit_folders(tmp_path)
    assert len(folders) == 2 * 2 + 1  # candidates x folds, and the refit
    assert search.best_estimator_.checkpoint_path_ in [str(f) for f in folders]
    for folder in folders:
        assert sorted(os.listdir(folder)) == ["checkpoint.pt", "estimator.json"]
        loaded = NNClassifier.from_checkpoint(folder)
        assert loaded.predict(X).shape == y.shape


def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    X, y = _table()
    written = []
    real_save = checkpoints.writer.save_payload

    def save_then_fail_the_third_time(payload, file):
        if len(written) == 2:
            file.write(b"half a checkpoint")
            raise OSError("No space left on device")
        real_save(payload, file)
        written.append(json.loads(payload["config"])["fitted"]["best_epoch_"])

    monkeypatch.setattr(
        checkpoints.writer, "save_payload", save_then_fail_the_third_time
    )
    estimator = NNClassifier(
        validation_fraction=0.25, max_epochs=10, checkpoint_dir=tmp_path, **FAST
    )
    with pytest.raises(OSError, match="No space left") as error:
        estimator.fit(X, y)
    assert isinstance(error.value, checkpoints.CheckpointWriteError)
    assert "the disk is full" not in str(error.value)  # a bare OSError: no errno
    assert "previous checkpoint there is kept" in str(error.value)
    [folder] = _fit_folders(tmp_path)
    assert sorted(os.listdir(folder)) == ["checkpoint.pt", "estimator.json"]
    loaded = NNClassifier.from_checkpoint(folder)
    assert loaded.best_epoch_ == written[1]
    assert loaded.predict(X).shape == y.shape


def test_unavailable_device_falls_back_to_cpu(tmp_path, overfit):
    estimator, X, _, _ = overfit
    folder = tmp_path / "copy"
    shutil.copytree(estimator.checkpoint_path_, folder)
    _rewrite_config(folder, lambda config: config["fitted"].update(device_="cuda:99"))
    with pytest.warns(UserWarning, match="'cuda:99', which is not available"):
        loaded = NNClassifier.from_checkpoint(folder)
    assert loaded.device_ == "cpu"
    assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


class _Encoder(torch.nn.Module):
    def __init__(self, n_features=8, hidden=16):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, hidden)

    def forward(self, X):
        return torch.relu(self.linear(X))


class _Head(torch.nn.Module):
    def __init__(self, hidden=16, n_outputs=3):
        super().__init__()
        self.linear = torch.nn.Linear(hidden, n_outputs)

    def forward(self, X):
        return self.linear(X)


class _TwoModules(NNClassifier):
    """skorch's pattern: a second module built in initialize_module."""

    def initialize_module(self):
        super().initialize_module()
        self.head_ = _Head(**self.get_params_for("head"))
        return self

    def infer(self, x, **fit_params):
        return self.head_(super().infer(x, **fit_params))


def test_a_subclass_s_second_module_is_restored_and_checkpointed(tmp_path):
    X, y = make_classification(
        n_samples=240, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    X = X.astype(np.float32)
    params = dict(module=_Encoder, head__hidden=16, lr=0.03, random_state=0)
    params.update(validation_fraction=0.25, n_threads=1)
    # Long enough to overfit: the best epoch comes before the last (epochs 2
    # to 28 of 40 over 20 seeds; at lr=0.01 it was the 25th of 25 for some).
    model = _TwoModules(max_epochs=40, checkpoint_dir=tmp_path, **params).fit(X, y)
    assert model.best_epoch_ < 40
    # The best epoch's weights of both modules: a fit stopped there agrees.
    stopped = _TwoModules(max_epochs=model.best_epoch_, **params).fit(X, y)
    np.testing.assert_allclose(
        model.predict_proba(X), stopped.predict_proba(X), atol=1e-6
    )
    loaded = _TwoModules.from_checkpoint(
        model.checkpoint_path_, trusted=[_Encoder, _Head]
    )
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_loaded_checkpoint_never_decides_where_a_resumed_fit_writes(tmp_path):
    X, y = _table()
    saved, elsewhere = tmp_path / "saved", tmp_path / "elsewhere"
    NNClassifier(
        validation_fraction=0.25, max_epochs=2, checkpoint_dir=saved, **FAST
    ).fit(X, y)
    [folder] = _fit_folders(saved)
    _rewrite_config(
        folder,
        lambda config: config["params"].update(
            checkpoint_dir={"__path__": str(elsewhere)}
        ),
    )
    loaded = NNClassifier.from_checkpoint(folder)
    assert loaded.checkpoint_dir is None
    loaded.set_params(warm_start=True, max_epochs=2).fit(X, y)
    assert not elsewhere.exists()
    assert _fit_folders(saved) == [folder]  # nothing written without checkpoint_dir
