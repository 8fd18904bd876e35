"""Checkpoints from elsewhere: no code runs, damage is reported as such.

Each attack tampers a real checkpoint's configuration (with its checksum
updated, as an attacker would) so that loading it, before these checks,
would have run a command, started a process or overwritten a file; the
command would leave a marker file. Loading must refuse, and leave no marker.
"""

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import fit_settings
import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits, load_iris

from nnestimators import NNClassifier, checkpoints
from nnestimators.checkpoints import (
    CheckpointWriteError,
    CorruptCheckpointError,
    UntrustedCheckpointError,
    check_checkpoint_dir,
    write_checkpoint,
)
from nnestimators.modules import MLP, ConvNet

FAST = fit_settings.REPRODUCIBLE  # epochs and splits are set test by test


def _iris():
    X, y = load_iris(return_X_y=True)
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    X, y = _iris()
    checkpoint_dir = tmp_path_factory.mktemp("fitted")
    estimator = NNClassifier(
        max_epochs=2, validation_fraction=0.2, checkpoint_dir=checkpoint_dir, **FAST
    ).fit(X, y)
    return estimator, X


@pytest.fixture
def copy(fitted, tmp_path):
    """A copy of the fitted checkpoint's folder, to tamper with."""
    estimator, _ = fitted
    folder = tmp_path / "fit"
    shutil.copytree(estimator.checkpoint_path_, folder)
    return folder


def _load_payload(folder):
    return torch.load(folder / "checkpoint.pt", weights_only=True)


def _save_config(folder, payload, text):
    # What an attacker does: the checksums are no secret.
    payload["config"] = text
    payload["checksums"]["config"] = hashlib.sha256(text.encode()).hexdigest()
    torch.save(payload, folder / "checkpoint.pt")


def _tamper(folder, change):
    payload = _load_payload(folder)
    config = json.loads(payload["config"])
    change(config)
    _save_config(folder, payload, json.dumps(config))


def _partial(func, *args):
    return {"__partial__": {"__import__": func}, "args": list(args), "keywords": {}}


def _popen(marker):
    return {"__object__": "subprocess:Popen", "params": {"args": ["touch", marker]}}


def _assert_no_marker(marker):
    time.sleep(0.2)  # a spawned process would have touched it by now
    assert not os.path.exists(marker)


# -- attacks -------------------------------------------------------------------


def test_partial_of_os_system_as_criterion_is_refused(copy, tmp_path):
    marker = str(tmp_path / "marker")
    _tamper(
        copy,
        lambda c: c["params"].update(
            criterion=_partial("os:system", f"touch {marker}")
        ),
    )
    with pytest.raises(UntrustedCheckpointError) as error:
        NNClassifier.from_checkpoint(copy)
    message = str(error.value)
    assert "criterion: a functools.partial" in message
    assert "from_checkpoint(path, criterion=...)" in message
    _assert_no_marker(marker)


def test_popen_object_as_module_is_refused(copy, tmp_path):
    marker = str(tmp_path / "marker")
    _tamper(copy, lambda c: c["params"].update(module=_popen(marker)))
    with pytest.raises(UntrustedCheckpointError) as error:
        NNClassifier.from_checkpoint(copy)
    message = str(error.value)
    assert "module: subprocess:Popen" in message
    assert "trusted=[Popen]" in message and "module=..." in message
    _assert_no_marker(marker)


def test_a_parameter_passed_again_is_not_read(copy, tmp_path, fitted):
    estimator, X = fitted
    marker = str(tmp_path / "marker")
    _tamper(copy, lambda c: c["params"].update(module=_popen(marker)))
    loaded = NNClassifier.from_checkpoint(copy, module=MLP)
    _assert_no_marker(marker)
    assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


@pytest.mark.parametrize(
    "classes",
    [
        lambda marker: _popen(marker),
        lambda marker: {
            "__ndarray__": [_popen(marker)],
            "dtype": "|O",
            "shape": [1],
        },
        lambda marker: {"__tuple__": [0, {"__import__": "os:system"}]},
    ],
    ids=["object", "in-array", "import"],
)
def test_fitted_attributes_are_plain_data_only(copy, tmp_path, classes):
    marker = str(tmp_path / "marker")
    _tamper(copy, lambda c: c["fitted"].update(classes_=classes(marker)))
    # Passing module= again does not make fitted.classes_ trusted.
    with pytest.raises(UntrustedCheckpointError, match="tampered with") as error:
        NNClassifier.from_checkpoint(copy, module=MLP)
    assert "fitted classes_" in str(error.value)
    _assert_no_marker(marker)


def test_history_is_plain_data_only(copy, tmp_path):
    marker = str(tmp_path / "marker")
    payload = _load_payload(copy)
    history = json.loads(payload["history"])
    history[0]["epoch"] = _popen(marker)
    payload["history"] = json.dumps(history)
    payload["checksums"]["history"] = hashlib.sha256(
        payload["history"].encode()
    ).hexdigest()
    torch.save(payload, copy / "checkpoint.pt")
    with pytest.raises(UntrustedCheckpointError, match="history"):
        NNClassifier.from_checkpoint(copy)
    _assert_no_marker(marker)


def test_path_write_text_is_refused(copy, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    attacks = [
        _partial("pathlib:Path.write_text", {"__path__": str(victim)}, "pwned"),
        {"__import__": "pathlib:Path.write_text"},
        {"__object__": "pathlib:Path", "params": {}},
    ]
    for attack in attacks:
        _tamper(copy, lambda c, attack=attack: c["params"].update(augment=attack))
        with pytest.raises(UntrustedCheckpointError, match="augment"):
            NNClassifier.from_checkpoint(copy)
        X, _ = _iris()
        # Not even a trusted module passed again lets it through.
        with pytest.raises(UntrustedCheckpointError):
            NNClassifier.from_checkpoint(copy, module=MLP).predict(X)
    assert victim.read_text() == "precious"


@pytest.mark.parametrize(
    "name",
    [
        "operator:attrgetter",
        "operator:methodcaller",
        "builtins:eval",
        "builtins:getattr",
        "torch.nn:Module.__subclasses__",
        "torch.nn.modules.module:Module.__subclasses__",
        "nnestimators.modules:MLP.__init__.__globals__",
        "nnestimators.modules.mlp:MLP.__init__.__globals__",
        "nnestimators.modules.mlp:MLP.__init__",
        "nnestimators.modules.mlp:nn",  # torch.nn itself, a module object
        "nnestimators.modules.activations:make_activation",  # a function
        "torch.nn:Linear",  # not Linear's own name: names match exactly
        "torch:load",
    ],
)
def test_names_match_exactly_as_allowed_classes(copy, name):
    for form in ({"__import__": name}, {"__object__": name, "params": {}}):
        _tamper(copy, lambda c, form=form: c["params"].update(module=form))
        with pytest.raises(UntrustedCheckpointError) as error:
            NNClassifier.from_checkpoint(copy)
        assert f"module: {name}" in str(error.value)


def test_an_untrusted_module_is_not_even_imported(copy, tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    (tmp_path / "ckpt_evil_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Net:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _tamper(
        copy,
        lambda c: c["params"].update(module={"__import__": "ckpt_evil_module:Net"}),
    )
    with pytest.raises(UntrustedCheckpointError, match="ckpt_evil_module:Net"):
        NNClassifier.from_checkpoint(copy)
    _tamper(copy, lambda c: c.update({"class": "ckpt_evil_module:Net"}))
    with pytest.raises(UntrustedCheckpointError, match="not one of nnestimators"):
        NNClassifier.from_checkpoint(copy)
    assert "ckpt_evil_module" not in sys.modules
    assert not marker.exists()


def test_trusted_lists_classes_and_functions_only(copy):
    with pytest.raises(TypeError, match="a string"):
        NNClassifier.from_checkpoint(copy, trusted=["subprocess:Popen"])
    with pytest.raises(TypeError, match="only classes and functions"):
        NNClassifier.from_checkpoint(copy, trusted=[MLP(n_features=4, n_outputs=3)])


def test_a_trusted_function_is_not_built_as_an_object(copy):
    _tamper(
        copy,
        lambda c: c["params"].update(
            augment={"__object__": "builtins:print", "params": {}}
        ),
    )
    with pytest.raises(UntrustedCheckpointError, match="builtins:print"):
        NNClassifier.from_checkpoint(copy, trusted=[print])


# -- legitimate checkpoints ----------------------------------------------------


class UserNet(torch.nn.Module):
    """A user's own module, defined at the top level of a module."""

    def __init__(self, n_features, n_outputs, width=8):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_features, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, n_outputs),
        )

    def forward(self, X):
        return self.layers(X)


def test_default_mlp_loads_and_predicts_identically(fitted):
    estimator, X = fitted
    loaded = NNClassifier.from_checkpoint(estimator.checkpoint_path_)
    assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
    # Where a loaded estimator writes is the caller's choice, never the file's.
    expected = {**estimator.get_params(deep=False), "checkpoint_dir": None}
    assert loaded.get_params(deep=False) == expected


def test_convnet_loads_and_predicts_identically(tmp_path):
    X, y = load_digits(return_X_y=True)
    X = (X[:300] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    estimator = NNClassifier(
        module=ConvNet,
        module__channels=(4,),
        module__dense_units=(16,),
        module__activation=torch.nn.GELU,
        max_epochs=2,
        validation_fraction=0.2,
        checkpoint_dir=tmp_path,
        **FAST,
    ).fit(X, y[:300])
    loaded = NNClassifier.from_checkpoint(tmp_path)
    assert loaded.module__activation is torch.nn.GELU
    assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


def test_user_module_loads_when_trusted_or_passed_again(tmp_path):
    X, y = _iris()
    estimator = NNClassifier(
        module=UserNet,
        module__width=5,
        max_epochs=2,
        validation_fraction=0.2,
        checkpoint_dir=tmp_path,
        **FAST,
    ).fit(X, y)
    with pytest.raises(UntrustedCheckpointError) as error:
        NNClassifier.from_checkpoint(tmp_path)
    message = str(error.value)
    assert f"module: {__name__}:UserNet" in message
    assert "trusted=[UserNet]" in message and "module=..." in message
    for loaded in (
        NNClassifier.from_checkpoint(tmp_path, trusted=[UserNet]),
        NNClassifier.from_checkpoint(tmp_path, module=UserNet),
    ):
        assert loaded.module is UserNet and loaded.module__width == 5
        assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


# -- damaged files -------------------------------------------------------------


def _record_span(file, suffix):
    """Start and end of the bytes of the zip record whose name ends with suffix."""
    with zipfile.ZipFile(file) as archive:
        [info] = [i for i in archive.infolist() if i.filename.endswith(suffix)]
    with open(file, "rb") as stream:
        stream.seek(info.header_offset)
        header = stream.read(30)
    name_length = int.from_bytes(header[26:28], "little")
    extra_length = int.from_bytes(header[28:30], "little")
    start = info.header_offset + 30 + name_length + extra_length
    return start, start + info.compress_size


def _flip(file, start, count):
    data = bytearray(file.read_bytes())
    for i in range(start, start + count):
        data[i] ^= 0xFF
    file.write_bytes(bytes(data))


def test_flipped_bytes_in_the_weights_are_reported_corrupt(copy):
    file = copy / "checkpoint.pt"
    # The first layer's weight: the largest record.
    with zipfile.ZipFile(file) as archive:
        largest = max(
            (i for i in archive.infolist() if "/data/" in i.filename),
            key=lambda i: i.file_size,
        )
    start, end = _record_span(file, largest.filename)
    assert end - start >= 256 + 64
    _flip(file, start + 64, 256)
    # torch itself reads this file without complaint.
    torch.load(file, weights_only=True)
    with pytest.raises(CorruptCheckpointError, match="corrupt.*CRC") as error:
        NNClassifier.from_checkpoint(copy)
    assert str(file) in str(error.value)


def test_changed_weights_fail_their_checksum(copy):
    file = copy / "checkpoint.pt"
    payload = _load_payload(copy)
    name = next(iter(payload["module"]))
    payload["module"][name][0] += 1.0
    torch.save(payload, file)  # a consistent zip, checksums left as they were
    with pytest.raises(CorruptCheckpointError, match="corrupt: its weights no longer"):
        NNClassifier.from_checkpoint(copy)


def test_flipped_bytes_in_the_pickle_say_corrupt_not_malicious(copy):
    file = copy / "checkpoint.pt"
    start, end = _record_span(file, "data.pkl")
    _flip(file, start + (end - start) // 2, 8)
    with pytest.raises(CorruptCheckpointError, match="corrupt") as error:
        NNClassifier.from_checkpoint(copy)
    assert "could run code" not in str(error.value)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_checkpoint(copy, keep):
    file = copy / "checkpoint.pt"
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CorruptCheckpointError, match="truncated or corrupt") as error:
        NNClassifier.from_checkpoint(copy)
    assert str(file) in str(error.value)


def test_empty_and_text_files(copy):
    file = copy / "checkpoint.pt"
    file.write_bytes(b"")
    with pytest.raises(CorruptCheckpointError, match="is empty"):
        NNClassifier.from_checkpoint(copy)
    file.write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(CorruptCheckpointError, match="is not a checkpoint") as error:
        NNClassifier.from_checkpoint(copy)
    assert str(file) in str(error.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "config is not valid JSON"),
        ("{not json", "config is not valid JSON"),
        ("[]", "config is list, not an object"),
        ('{"params": {}, "not_saved": {}, "fitted": {}}', "'class' entry is missing"),
        (
            '{"class": "nnestimators.classifiers:NNClassifier", "params": [],'
            ' "not_saved": {}, "fitted": {}}',
            "'params' entry is a list",
        ),
    ],
)
def test_invalid_config_json(copy, text, expected):
    _save_config(copy, _load_payload(copy), text)
    with pytest.raises(CorruptCheckpointError, match=expected):
        NNClassifier.from_checkpoint(copy)


def test_config_changed_without_its_checksum(copy):
    payload = _load_payload(copy)
    payload["config"] = payload["config"].replace('"lr": 0.001', '"lr": 0.1')
    torch.save(payload, copy / "checkpoint.pt")
    with pytest.raises(CorruptCheckpointError, match="configuration no longer matches"):
        NNClassifier.from_checkpoint(copy)


def test_unknown_fitted_attribute_is_refused(copy):
    _tamper(copy, lambda c: c["fitted"].update(predict=1))
    with pytest.raises(CorruptCheckpointError, match="fitted attribute 'predict'"):
        NNClassifier.from_checkpoint(copy)


# -- writing -------------------------------------------------------------------


def _fresh_fit(checkpoint_dir):
    X, y = _iris()
    return NNClassifier(
        max_epochs=2, validation_fraction=0.2, checkpoint_dir=checkpoint_dir, **FAST
    ).fit(X, y)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            RuntimeError(
                "[enforce fail at inline_container.cc:672] . PytorchStreamWriter "
                "failed writing file data/0: file write failed"
            ),
            "the write failed; is the disk full?",
        ),
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    ],
    ids=["torch", "oserror"],
)
def test_full_disk_while_writing(tmp_path, monkeypatch, failure, expected):
    estimator = _fresh_fit(tmp_path)
    folder = estimator.checkpoint_path_
    before = (Path(folder) / "checkpoint.pt").read_bytes()

    def fail(payload, file):
        file.write(b"half a checkpoint")
        raise failure

    monkeypatch.setattr(checkpoints.writer, "save_payload", fail)
    with pytest.raises(CheckpointWriteError) as error:
        write_checkpoint(estimator, tmp_path, folder)
    message = str(error.value)
    assert expected in message and repr(folder) in message
    assert "The previous checkpoint there is kept." in message
    assert sorted(os.listdir(folder)) == ["checkpoint.pt", "estimator.json"]
    assert (Path(folder) / "checkpoint.pt").read_bytes() == before
    monkeypatch.undo()
    NNClassifier.from_checkpoint(folder)


def test_stale_temporary_files_are_removed_on_the_next_write(tmp_path):
    estimator = _fresh_fit(tmp_path)
    folder = estimator.checkpoint_path_
    host = checkpoints.writer._host()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    old = os.path.join(folder, ".tmp-old-checkpoint.pt")
    dead = os.path.join(folder, f".tmp-{host}-{dead_pid}-x1-checkpoint.pt")
    live = os.path.join(folder, f".tmp-{host}-{os.getppid()}-x2-checkpoint.pt")
    other_host = os.path.join(folder, f".tmp-elsewhere-{dead_pid}-x3-checkpoint.pt")
    for path in (old, dead, live, other_host):
        with open(path, "wb") as file:
            file.write(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert write_checkpoint(estimator, tmp_path, folder) == folder
    left = sorted(name for name in os.listdir(folder) if name.startswith(".tmp-"))
    # A write in progress (a live process, or another host's) is left alone.
    assert left == sorted(os.path.basename(p) for p in (live, other_host))


def test_check_checkpoint_dir(tmp_path):
    assert check_checkpoint_dir(None) is None
    target = tmp_path / "new" / "checkpoints"
    assert check_checkpoint_dir(target) == str(target)
    assert target.is_dir() and os.listdir(target) == []
    a_file = tmp_path / "notes.txt"
    a_file.write_text("notes")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_checkpoint_dir(a_file)
    with pytest.raises(ValueError, match="is empty"):
        check_checkpoint_dir("")
    with pytest.raises(ValueError, match="cannot be created"):
        check_checkpoint_dir(a_file / "sub")
    with pytest.raises(ValueError, match="not a folder path"):
        check_checkpoint_dir(3)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere"
)
def test_check_checkpoint_dir_read_only(tmp_path):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="not writable"):
            check_checkpoint_dir(read_only)
    finally:
        read_only.chmod(0o700)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lr", float("nan")),
        (
            "callbacks",
            [{"__object__": "nnestimators.augment:GaussianNoise", "params": {}}],
        ),
    ],
)
def test_trusted_values_that_build_nothing_are_a_checkpoint_error(copy, name, value):
    def change(config):
        config["params"][name] = value

    _tamper(copy, change)
    with pytest.raises(CorruptCheckpointError, match="cannot be built"):
        NNClassifier.from_checkpoint(copy)
