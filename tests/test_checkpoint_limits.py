"""Hostile checkpoints cost bounded time and memory, and name nothing outside tables.

Each file here is small and declares far more than it holds: zip directory
entries repeating one member (a zip bomb), tensors whose shape is far
larger than their data, JSON arrays declaring gigabytes, structures that
reference themselves over and over, names that torch would resolve by
importing or calling something. Loading must refuse each in well under a
second with a ``CheckpointError`` saying what is wrong. The peak memory of
refusing them is measured in a fresh process (``test_peak_memory...``).
"""

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib

import fit_settings
import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris

from nnestimators import NNClassifier
from nnestimators.checkpoints import CheckpointError, CorruptCheckpointError
from nnestimators.checkpoints.integrity import checksums

# Refusals are immediate; the margin is for a loaded CI machine.
SECONDS = 5


def _iris():
    X, y = load_iris(return_X_y=True)
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    X, y = _iris()
    estimator = NNClassifier(
        max_epochs=2,
        validation_fraction=0.2,
        checkpoint_dir=tmp_path_factory.mktemp("fitted"),
        **fit_settings.REPRODUCIBLE,
    ).fit(X, y)
    return estimator, X


@pytest.fixture
def copy(fitted, tmp_path):
    """A copy of the fitted checkpoint's folder, to tamper with."""
    folder = tmp_path / "fit"
    shutil.copytree(fitted[0].checkpoint_path_, folder)
    return folder


def _payload(folder):
    return torch.load(folder / "checkpoint.pt", weights_only=True)


def _save(folder, payload, *, update_checksums):
    if update_checksums:  # what an attacker does: the checksums are no secret
        payload["checksums"] = checksums(payload)
    torch.save(payload, folder / "checkpoint.pt")


def _tamper_config(folder, change):
    payload = _payload(folder)
    config = json.loads(payload["config"])
    change(config)
    payload["config"] = json.dumps(config)
    payload["checksums"]["config"] = hashlib.sha256(
        payload["config"].encode()
    ).hexdigest()
    torch.save(payload, folder / "checkpoint.pt")


def _refused(folder, match, error=CorruptCheckpointError, **kwargs):
    start = time.perf_counter()
    with pytest.raises(error, match=match) as raised:
        NNClassifier.from_checkpoint(folder, **kwargs)
    assert time.perf_counter() - start < SECONDS
    return str(raised.value)


# -- zip archives ----------------------------------------------------------------


def _local_header(name, data, method, size, crc):
    name = name.encode()
    header = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), size,
        len(name), 0,
    )  # fmt: skip
    return header + name + data


def _directory_entry(name, offset, method, stored, size, crc):
    name = name.encode()
    entry = struct.pack(
        "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, stored, size,
        len(name), 0, 0, 0, 0, 0, offset,
    )  # fmt: skip
    return entry + name


def _zip(members, entries):
    """A zip file of ``members`` (local records, in order) and a directory of
    ``entries`` (name, index of the member it points at, declared size)."""
    body, offsets = b"", []
    for name, data, method, size, crc in members:
        offsets.append(len(body))
        body += _local_header(name, data, method, size, crc)
    directory = b""
    for name, index, size in entries:
        _, data, method, _, crc = members[index]
        directory += _directory_entry(
            name, offsets[index], method, len(data), size, crc
        )
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
        len(directory), len(body), 0,
    )  # fmt: skip
    return body + directory + end


def _stored(name, data):
    return (name, data, 0, len(data), zlib.crc32(data))


def _deflated_zeros(name, size):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(bytes(size)) + compressor.flush()
    return (name, data, 8, size, zlib.crc32(bytes(size)))


def test_a_zip_bomb_of_entries_repeating_one_compressed_member_is_refused(copy):
    # 2,000 directory entries pointing at one member of 16 MiB of zeros,
    # compressed to 16 KiB: 31 GiB to decompress for a CRC check.
    bomb = _deflated_zeros("archive/data/0", 16 << 20)
    entries = [(f"archive/data/{i}", 0, 16 << 20) for i in range(2000)]
    (copy / "checkpoint.pt").write_bytes(_zip([bomb], entries))
    assert (copy / "checkpoint.pt").stat().st_size < 200_000  # the issue's: 187 KiB
    message = _refused(copy, "overlap")
    assert "2000 directory entries point into the bytes of one member" in message


def test_a_compressed_member_is_refused_before_it_is_decompressed(copy):
    # Stored, a checkpoint's members add up to at most the file's size.
    pickle = _deflated_zeros("archive/data.pkl", 16 << 20)
    (copy / "checkpoint.pt").write_bytes(
        _zip([pickle], [("archive/data.pkl", 0, 16 << 20)])
    )
    _refused(copy, "'archive/data.pkl' is compressed or encrypted \\(method 8\\)")


def test_entries_overlapping_one_stored_member_are_refused(copy):
    # Uncompressed, each entry still makes a CRC check read the member again.
    member = _stored("archive/data/0", bytes(1 << 16))
    entries = [("archive/data.pkl", 0, 1 << 16)]
    entries += [(f"archive/data/{i}", 0, 1 << 16) for i in range(2000)]
    (copy / "checkpoint.pt").write_bytes(_zip([member], entries))
    _refused(copy, "overlap")


# An empty dict, as torch.save's protocol writes it.
_PICKLE = b"\x80\x02}q\x00."


def test_duplicate_members_are_refused(copy):
    members = [_stored("archive/data.pkl", _PICKLE), _stored("x", b"1")]
    entries = [("archive/data.pkl", 0, len(_PICKLE)), ("archive/data.pkl", 1, 1)]
    (copy / "checkpoint.pt").write_bytes(_zip(members, entries))
    _refused(copy, "holds the member 'archive/data.pkl' twice")


def test_members_torch_never_writes_are_refused(copy):
    members = [_stored("archive/data.pkl", _PICKLE), _stored("extra", b"1")]
    entries = [("archive/data.pkl", 0, len(_PICKLE)), ("archive/extra/0", 1, 1)]
    (copy / "checkpoint.pt").write_bytes(_zip(members, entries))
    _refused(copy, "member 'archive/extra/0', which torch never writes")


def test_more_tensor_records_than_the_pickle_refers_to_are_refused(copy):
    records = [_stored(f"archive/data/{i}", b"0123") for i in range(50)]
    members = [_stored("archive/data.pkl", _PICKLE), *records]
    entries = [(name, i, len(data)) for i, (name, data, *_) in enumerate(members)]
    (copy / "checkpoint.pt").write_bytes(_zip(members, entries))
    _refused(copy, "it holds 50 tensor records, while its pickle refers to storages 0")


def test_a_member_declaring_more_than_the_file_holds_is_refused(copy):
    members = [_stored("archive/data.pkl", _PICKLE)]
    data = bytearray(_zip(members, [("archive/data.pkl", 0, len(_PICKLE))]))
    # The directory's sizes: stored and uncompressed, 4 GiB - 1 each.
    directory = data.index(b"PK\x01\x02")
    data[directory + 20 : directory + 28] = struct.pack("<2L", 2**32 - 1, 2**32 - 1)
    (copy / "checkpoint.pt").write_bytes(bytes(data))
    _refused(copy, "beyond the end of the file")


def test_a_pickle_building_other_kinds_of_tensor_is_refused(copy):
    payload = _payload(copy)
    # torch's weights_only reader allows quantized tensors, which it
    # allocates at the size the file declares; checkpoints never hold them.
    payload["tensors"] = [
        torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.quint8)
    ]
    _save(copy, payload, update_checksums=False)
    _refused(copy, "_rebuild_qtensor, which builds a kind of tensor")


# -- tensors larger than their data ----------------------------------------------


def test_a_sparse_tensor_is_not_made_dense_for_its_checksum(copy):
    payload = _payload(copy)
    # 1.6 GB dense, one element stored; the checksum is not even recomputed.
    huge = torch.sparse_coo_tensor([[7]], [1.0], (400_000_000,))
    payload["tensors"] = [huge]
    _save(copy, payload, update_checksums=False)
    message = _refused(copy, "its tensors declare more than")
    assert "sparse tensor" in message


def test_a_sparse_tensor_indexing_beyond_its_shape_is_refused(copy):
    payload = _payload(copy)
    outside = torch.sparse_coo_tensor([[10**9]], [1.0], (5,), check_invariants=False)
    payload["tensors"] = [outside]
    _save(copy, payload, update_checksums=False)
    _refused(copy, "torch cannot read it .*size is 5 but found index 1000000000")


def test_a_view_repeating_its_data_is_not_copied_whole(copy):
    payload = _payload(copy)
    payload["tensors"] = [torch.ones(1).expand(400_000_000)]  # 4 bytes stored
    _save(copy, payload, update_checksums=False)
    _refused(copy, "its tensors declare more than")


def test_honest_sparse_tensors_and_views_verify_and_load(copy, fitted):
    estimator, X = fitted
    payload = _payload(copy)
    values = torch.arange(12.0).reshape(3, 4)
    payload["tensors"] = [
        values.to_sparse(),
        values.to_sparse_csr(),
        values.t(),
        torch.ones(3).expand(5, 3),
    ]
    _save(copy, payload, update_checksums=True)
    loaded = NNClassifier.from_checkpoint(copy)
    assert_array_equal(loaded.predict(X), estimator.predict(X))


def test_a_structure_referencing_itself_over_and_over_is_refused(copy):
    payload = _payload(copy)
    nested = [0]
    for _ in range(8):  # 10**8 references, a few hundred bytes of pickle
        nested = [nested] * 10
    payload["optimizer"] = {"state": {}, "param_groups": nested}
    _save(copy, payload, update_checksums=False)
    _refused(copy, "referenced over and over")


def test_a_wide_cycle_is_refused_without_queueing_it(copy):
    payload = _payload(copy)
    cycle = []
    cycle.extend([cycle] * 100_000)  # 200 KB of pickle, endless to walk
    payload["lr_scheduler"] = cycle
    _save(copy, payload, update_checksums=False)
    tracemalloc.start()
    try:
        _refused(copy, "nest over 64 deep|referenced over and over")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20  # the walk holds one iterator per open list


def test_deep_nesting_and_huge_integers_are_refused(copy):
    payload = _payload(copy)
    deep = []
    for _ in range(100):  # torch.save itself stops near 500
        deep = [deep]
    payload["lr_scheduler"] = deep
    _save(copy, payload, update_checksums=False)
    _refused(copy, "nest over")
    payload["lr_scheduler"] = {"last_epoch": 2**200}
    _save(copy, payload, update_checksums=False)
    _refused(copy, "integer of")


# -- modules the parameters build -------------------------------------------------

# 20 million hidden units: 640 MB of weights for the 4 features of iris
# (were the module built), against a few KiB of stored weights.
_HIDDEN = 20_000_000


def test_parameters_building_a_module_far_larger_than_its_weights_are_refused(copy):
    units = {"__tuple__": [_HIDDEN]}
    _tamper_config(copy, lambda c: c["params"].update(module__hidden_units=units))
    _refused(copy, "the module its parameters describe would hold 640,000,012 bytes")


def test_a_module_object_far_larger_than_its_weights_is_not_built(copy):
    linear = {
        "__object__": "torch.nn.modules.linear:Linear",
        "params": {"in_features": 4, "out_features": _HIDDEN},
    }
    _tamper_config(copy, lambda c: c["params"].update(module=linear))
    message = _refused(copy, "Linear its parameters describe", CheckpointError)
    assert "would hold 400,000,000 bytes" in message


# -- JSON arrays -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        ({"dtype": "(400000000,)f4", "shape": [1]}, "dtype '\\(400000000,\\)f4'"),
        ({"dtype": "<U99999999", "shape": [1]}, "its arrays declare more than"),
        ({"dtype": "<f8", "shape": [20000, 20000]}, "shape \\[20000, 20000\\]"),
        ({"dtype": "<f8", "shape": [-1]}, "shape"),
        ({"dtype": "[('a', '<f8')]", "shape": [1]}, "dtype"),
        ({"dtype": "V100000000", "shape": [1]}, "dtype"),
    ],
    ids=["subarray", "text-width", "shape", "negative", "structured", "void"],
)
def test_json_arrays_are_checked_before_they_are_allocated(copy, array, expected):
    hostile = {"__ndarray__": [1.0], **array}
    _tamper_config(copy, lambda c: c["fitted"].update(n_features_in_=hostile))
    _refused(copy, expected)


def test_json_numbers_beyond_python_s_limits_are_malformed_json(copy):
    payload = _payload(copy)
    text = payload["config"].replace(
        '"fitted": {', '"fitted": {"x": ' + "9" * 5000 + ", ", 1
    )
    payload["config"] = text
    _save(copy, payload, update_checksums=True)
    _refused(copy, "its config is not valid JSON")


def test_honest_json_arrays_of_every_dtype_still_decode(copy):
    from nnestimators.checkpoints.codec import Decoder, encode

    arrays = [
        np.arange(6, dtype=np.int16).reshape(2, 3),
        np.array(["a", "bcd"]),
        np.array(["a", 1], dtype=object),
        np.array(["2020-01-01"], dtype="datetime64[ns]"),
        np.zeros((0, 3), dtype=np.float32),
        np.array([True]),
    ]
    tensors = []
    for array in arrays:
        decoded = Decoder(tensors).decode(
            json.loads(json.dumps(encode(array, tensors)))
        )
        assert decoded.dtype == array.dtype and decoded.shape == array.shape
        assert_array_equal(decoded, array)


# -- names resolve in closed tables only -----------------------------------------


@pytest.fixture
def torch_lookups(monkeypatch):
    """The names torch was asked to resolve through its module __getattr__."""
    asked = []

    def spy(name):
        asked.append(name)
        raise AttributeError(name)

    monkeypatch.setattr(torch, "__getattr__", spy, raising=False)
    return asked


@pytest.mark.parametrize("name", ["_inductor", "has_cuda", "compile", "float32 "])
def test_torch_dtype_names_are_looked_up_in_a_table(copy, torch_lookups, name):
    modules = set(sys.modules)
    _tamper_config(copy, lambda c: c["params"].update(lr={"__torch_dtype__": name}))
    message = _refused(copy, "lr", error=CheckpointError)
    assert f"unknown torch dtype {name!r}" in message
    assert torch_lookups == []
    assert {m for m in set(sys.modules) - modules if m.startswith("torch")} == set()


def test_honest_torch_dtypes_round_trip():
    from nnestimators.checkpoints.codec import Decoder, encode

    for dtype in (torch.float32, torch.float64, torch.bfloat16, torch.int64):
        assert Decoder([], policy=object()).decode(encode(dtype, [])) is dtype


@pytest.mark.parametrize("device", ["has_cuda", "cuda:0:0", "xla", "cpu "])
def test_device_names_are_looked_up_in_a_table(copy, torch_lookups, device):
    _tamper_config(copy, lambda c: c["fitted"].update(device_=device))
    _refused(copy, "device_ .* is not a device")
    assert torch_lookups == []


def test_a_tensor_s_device_is_looked_up_in_a_table(copy):
    weight = {"__tensor__": 0, "device": "privateuseone:0"}
    payload = _payload(copy)
    payload["tensors"] = [torch.ones(3)]
    config = json.loads(payload["config"])
    config["fitted"]["n_features_in_"] = weight
    payload["config"] = json.dumps(config)
    _save(copy, payload, update_checksums=True)
    _refused(copy, "device is 'privateuseone:0'")


# -- several fits in one checkpoint_dir ------------------------------------------


@pytest.fixture(scope="module")
def two_fits(tmp_path_factory):
    X, y = _iris()
    checkpoint_dir = tmp_path_factory.mktemp("two-fits")
    fits = []
    for hidden in (4, 6):  # the same cell run twice, edited in between
        fits.append(
            NNClassifier(
                module__hidden_units=(hidden,),
                max_epochs=2,
                validation_fraction=0.2,
                checkpoint_dir=checkpoint_dir,
                **fit_settings.REPRODUCIBLE,
            ).fit(X, y)
        )
    # The second fit's checkpoint is written later, whatever the clock's grain.
    later = os.stat(fits[0].checkpoint_path_ + "/checkpoint.pt").st_mtime_ns + 10**9
    os.utime(fits[1].checkpoint_path_ + "/checkpoint.pt", ns=(later, later))
    return checkpoint_dir, fits


def test_a_folder_of_several_fits_asks_which(two_fits):
    checkpoint_dir, fits = two_fits
    with pytest.raises(ValueError, match="holds the checkpoints of 2 fits") as error:
        NNClassifier.from_checkpoint(checkpoint_dir)
    message = str(error.value)
    assert "which='latest'" in message
    assert message.index(fits[0].checkpoint_path_) < message.index(
        fits[1].checkpoint_path_
    )


@pytest.mark.parametrize(("which", "index"), [("latest", 1), ("earliest", 0)])
def test_which_picks_a_fit_by_when_it_was_written(two_fits, which, index):
    checkpoint_dir, fits = two_fits
    loaded = NNClassifier.from_checkpoint(checkpoint_dir, which=which)
    assert loaded.checkpoint_path_ == fits[index].checkpoint_path_
    assert loaded.module__hidden_units == fits[index].module__hidden_units


def test_which_is_checked_and_harmless_for_one_fit(two_fits, fitted):
    checkpoint_dir, _ = two_fits
    with pytest.raises(ValueError, match="which must be None, 'latest' or"):
        NNClassifier.from_checkpoint(checkpoint_dir, which="best")
    estimator, _ = fitted
    loaded = NNClassifier.from_checkpoint(estimator.checkpoint_path_, which="latest")
    assert loaded.checkpoint_path_ == estimator.checkpoint_path_


# -- peak memory, in a fresh process ---------------------------------------------

_MEASURE = """
import resource, sys, warnings
warnings.simplefilter("ignore")
from nnestimators import NNClassifier
from nnestimators.checkpoints import CheckpointError

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB

honest, *hostile = sys.argv[1:]
NNClassifier.from_checkpoint(honest)
print("honest", peak(), flush=True)
for folder in hostile:
    try:
        NNClassifier.from_checkpoint(folder)
    except CheckpointError:
        print(folder, peak(), flush=True)
    else:
        print(folder, "loaded", flush=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in KiB on Linux")
def test_peak_memory_of_refusing_hostile_files(fitted, tmp_path):
    estimator, _ = fitted
    hostile = {
        "sparse": lambda p: p.update(
            tensors=[torch.sparse_coo_tensor([[7]], [1.0], (400_000_000,))]
        ),
        "view": lambda p: p.update(tensors=[torch.ones(1).expand(400_000_000)]),
        "dtype": lambda p: _with_fitted(
            p, {"__ndarray__": [1.0], "dtype": "(400000000,)f4", "shape": [1]}
        ),
        "width": lambda p: _with_fitted(
            p, {"__ndarray__": [1.0], "dtype": "<U99999999", "shape": [1]}
        ),
        "module": lambda p: _with_config(
            p, "params", module__hidden_units={"__tuple__": [_HIDDEN]}
        ),
    }
    folders = []
    for name, change in hostile.items():
        folder = tmp_path / name
        shutil.copytree(estimator.checkpoint_path_, folder)
        payload = _payload(folder)
        change(payload)
        # Checksums recomputed where the change is in the JSON; the tensors
        # are refused before their checksum is computed either way.
        _save(folder, payload, update_checksums=name not in ("sparse", "view"))
        folders.append(str(folder))
    bomb = tmp_path / "bomb"
    bomb.mkdir()
    entries = [(f"archive/data/{i}", 0, 16 << 20) for i in range(2000)]
    (bomb / "checkpoint.pt").write_bytes(
        _zip([_deflated_zeros("archive/data/0", 16 << 20)], entries)
    )
    folders.append(str(bomb))
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, estimator.checkpoint_path_, *folders],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines())
    honest = float(lines.pop("honest"))
    assert len(lines) == len(folders) and "loaded" not in lines.values(), lines
    # Each refusal is measured after the honest load: the peak grows by the
    # caps' margins at most (tens of MiB), never by what the files declare.
    for folder, peak in lines.items():
        assert float(peak) < min(900, honest + 200), (folder, peak, honest)


def _with_fitted(payload, value):
    _with_config(payload, "fitted", n_features_in_=value)


def _with_config(payload, part, **values):
    config = json.loads(payload["config"])
    config[part].update(values)
    payload["config"] = json.dumps(config)
