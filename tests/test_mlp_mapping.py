"""One table of MLP's names (``nnestimators.mlp.mapping``), read three ways."""

import inspect
from pathlib import Path

import numpy as np
import pytest
import sklearn.neural_network as sk

from nnestimators import MLPClassifier, MLPRegressor, NNClassifier, NNRegressor
from nnestimators.mlp.mapping import MAPPING, markdown_table, nn_parameter_hints
from nnestimators.mlp.translate import net_params

MLP_NAMES = {name for name, _, _ in MAPPING}


def test_the_table_covers_every_parameter_of_scikit_learns_mlp():
    names = set(inspect.signature(sk.MLPClassifier).parameters)
    names |= set(inspect.signature(sk.MLPRegressor).parameters)
    assert names == MLP_NAMES


def test_an_mlp_name_given_to_nnclassifier_names_the_setting_and_the_drop_in():
    X, y = np.zeros((8, 2), dtype=np.float32), np.arange(8) % 2
    with pytest.raises(ValueError) as error:
        NNClassifier(hidden_layer_sizes=(10,)).fit(X, y)
    assert "module__hidden_units" in str(error.value)
    assert "nnestimators.MLPClassifier" in str(error.value)
    with pytest.raises(ValueError, match="optimizer__weight_decay"):
        NNRegressor().set_params(alpha=1.0)
    with pytest.raises(ValueError, match="max_epochs"):
        NNClassifier(max_iter=10).fit(X, y)


def test_names_both_families_share_get_no_hint():
    hints = nn_parameter_hints()
    assert "batch_size" not in hints and "random_state" not in hints
    assert set(hints) <= MLP_NAMES


def test_the_drop_ins_apply_the_tables_direct_settings():
    mlp = MLPClassifier(
        hidden_layer_sizes=(7, 3),
        learning_rate_init=0.05,
        max_iter=17,
        shuffle=False,
        batch_size=10,
        solver="sgd",
        momentum=0.3,
    )
    params = net_params(
        mlp,
        task="binary",
        n_features=4,
        n_outputs=1,
        n_train=50,
        dtype="float64",
        seed=0,
    )
    assert params["module__hidden_layer_sizes"] == (7, 3)
    assert params["lr"] == 0.05
    assert params["max_epochs"] == 17
    assert params["iterator_train__shuffle"] is False
    assert params["batch_size"] == 10
    assert params["optimizer__momentum"] == 0.3
    assert "weight_decay" not in str(sorted(params))  # alpha is MLP's penalty


def test_the_documentation_prints_the_table():
    table = markdown_table()
    assert table.count("\n") == len(MAPPING) + 1
    assert "| `hidden_layer_sizes` | `module__hidden_units` |" in table
    assert MLPRegressor().loss == "squared_error"


def test_the_guide_shows_the_table_as_the_package_has_it():
    page = (
        Path(__file__).resolve().parents[1] / "docs/guide/coming-from-mlp.md"
    ).read_text()
    assert markdown_table() in page
