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
        "torch.optim.SGD or torch.optim.Adam (the drop-ins make MLP's exact "
        'updates, which differ when the rate changes); for "lbfgs", '
        "torch.optim.LBFGS takes another path than scipy's",
    ),
    (
        "alpha",
        "optimizer__weight_decay",
        "MLP divides its L2 penalty by each batch's rows: "
        "weight_decay=alpha/batch_size comes close, biases included",
    ),
    (
        "batch_size",
        "batch_size",
        '"auto" is min(200, n_samples) in MLP, n_samples // 100 within [32, 256] here',
    ),
    ("learning_rate_init", "lr", "the same number"),
    (
        "learning_rate",
        "lr_schedule",
        '"adaptive" is close to "plateau"; "invscaling" is a '
        "torch.optim.lr_scheduler.LambdaLR class of your own",
    ),
    ("power_t", "lr_schedule", "the exponent of MLP's invscaling schedule"),
    ("max_iter", "max_epochs", "epochs of one fit call"),
    ("shuffle", "iterator_train__shuffle", "True by default in both"),
    ("random_state", "random_state", "the same meaning"),
    ("tol", "min_delta", "the smallest improvement that counts"),
    (
        "n_iter_no_change",
        "patience",
        "MLP stops when its count exceeds n_iter_no_change: patience=n + 1; "
        "it watches the training loss unless early_stopping",
    ),
    (
        "verbose",
        "verbose",
        "MLP prints 'Iteration n, loss = ...' lines, these Keras-style ones",
    ),
    ("warm_start", "warm_start", "continue from the fitted weights"),
    ("momentum", "optimizer__momentum", "with optimizer=torch.optim.SGD"),
    ("nesterovs_momentum", "optimizer__nesterov", "with optimizer=torch.optim.SGD"),
    (
        "early_stopping",
        "patience",
        "with validation_fraction; MLP watches the validation accuracy or R^2: "
        "metrics=['accuracy'] and monitor='valid_accuracy'",
    ),
    (
        "validation_fraction",
        "validation_fraction",
        "MLP holds it out only with early_stopping; any value holds it out here",
    ),
    ("beta_1", "optimizer__betas", "(beta_1, beta_2) with torch.optim.Adam"),
    ("beta_2", "optimizer__betas", "(beta_1, beta_2) with torch.optim.Adam"),
    (
        "epsilon",
        "optimizer__eps",
        "with torch.optim.Adam, which adds it after the bias correction",
    ),
    ("max_fun", "optimizer__max_eval", "with torch.optim.LBFGS"),
    (
        "loss",
        "criterion",
        'MLPRegressor\'s "squared_error" is torch.nn.MSELoss; "poisson" is '
        "torch.nn.PoissonNLLLoss on the log of the mean",
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
            f"MLP's {name} is {setting} here: {note}. Or keep {name} with "
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
