"""The one table of MLP's parameters and the package settings they become.

``MAPPING`` is read three times: ``translate.net_params`` implements it
for the drop-ins, ``NNClassifier``/``NNRegressor`` name its settings when
given an MLP name (``nn_parameter_hints``), and the documentation prints it
(``markdown_table``). It imports nothing from the package, so that the
parameter checks below the estimators can read it.
"""

# (MLP parameter, the package's setting, how the drop-in applies it)
MAPPING = (
    (
        "hidden_layer_sizes",
        "module__hidden_units",
        "widths of the hidden layers of the default module, nnestimators.modules.MLP",
    ),
    (
        "activation",
        "module__activation",
        '"logistic" is "sigmoid", "identity" is torch.nn.Identity',
    ),
    (
        "solver",
        "optimizer",
        '"sgd" and "adam" are MLP\'s exact updates (torch.optim.SGD/Adam differ '
        'when the rate changes or gradients are near epsilon); "lbfgs" is '
        "scipy's L-BFGS-B, one full batch",
    ),
    (
        "alpha",
        "optimizer__weight_decay",
        "MLP's penalty is per batch: alpha / batch_size approximates it "
        "(biases included); the drop-ins add MLP's penalty exactly",
    ),
    ("batch_size", "batch_size", '"auto" is min(200, n_samples) in MLP'),
    ("learning_rate_init", "lr", "the same number"),
    (
        "learning_rate",
        "lr_schedule",
        '"invscaling" and "adaptive" are MLP\'s schedules in the drop-ins; '
        '"plateau" is the package\'s nearest',
    ),
    ("power_t", "lr_schedule__*", "exponent of the invscaling schedule"),
    ("max_iter", "max_epochs", "epochs of one fit call"),
    ("shuffle", "iterator_train__shuffle", "batches are shuffled by default"),
    ("random_state", "random_state", "initialisation, split and batch order"),
    (
        "tol",
        "min_delta",
        "smallest improvement of the training loss (or validation score) that counts",
    ),
    (
        "n_iter_no_change",
        "patience",
        "MLP stops when its count exceeds n_iter_no_change: patience = n + 1",
    ),
    ("verbose", "verbose", "MLP prints 'Iteration n, loss = ...' lines"),
    ("warm_start", "warm_start", "continue from the fitted weights"),
    ("momentum", "optimizer__momentum", "with optimizer=torch.optim.SGD"),
    (
        "nesterovs_momentum",
        "optimizer__nesterov",
        "with optimizer=torch.optim.SGD",
    ),
    (
        "early_stopping",
        "patience",
        "with validation_fraction and monitor: MLP watches the validation "
        "accuracy or R^2",
    ),
    (
        "validation_fraction",
        "validation_fraction",
        "MLP holds it out only with early_stopping=True",
    ),
    ("beta_1", "optimizer__betas", "(beta_1, beta_2) with torch.optim.Adam"),
    ("beta_2", "optimizer__betas", "(beta_1, beta_2) with torch.optim.Adam"),
    ("epsilon", "optimizer__eps", "with torch.optim.Adam"),
    ("max_fun", "optimizer__max_fun", "loss evaluations of the lbfgs solver"),
    (
        "loss",
        "criterion",
        'MLPRegressor: "squared_error" or "poisson" (exp output)',
    ),
)

# MLP names an NN estimator also takes, with the same meaning: no hint.
_SHARED = {"batch_size", "random_state", "verbose", "warm_start", "validation_fraction"}


def nn_parameter_hints():
    """``{MLP name: hint}`` for the names ``NNClassifier``/``NNRegressor`` do not take."""
    hints = {}
    for name, setting, note in MAPPING:
        if name in _SHARED:
            continue
        drop_in = "MLPRegressor" if name == "loss" else "MLPClassifier"
        hints[name] = (
            f"MLP's {name} is {setting} here ({note}); or keep {name} with "
            f"nnestimators.{drop_in}, scikit-learn's MLP trained by torch"
        )
    return hints


def markdown_table():
    """``MAPPING`` as a Markdown table, for the documentation."""
    lines = [
        "| MLP parameter | nnestimators setting | note |",
        "| --- | --- | --- |",
    ]
    for name, setting, note in MAPPING:
        lines.append(f"| `{name}` | `{setting}` | {note} |")
    return "\n".join(lines)
