"""Training loops, metrics and learning rates with an MLP on synthetic data.

Mirrors seed lesson 002, the chapter on training loops, metrics and tuning:
a small MLP on ``make_classification`` data scaled with ``StandardScaler``
and trained with ``BCEWithLogitsLoss`` (``NNBinaryClassifier``'s default),
scored with accuracy, precision, recall, F1 and ROC-AUC on a test split;
the chapter's learning-rate challenge (0.1, 0.01, 0.001) with the training
curves side by side; regression errors (MSE, RMSE, MAE) with ``NNRegressor``;
and exploding gradients: plain SGD on an unscaled target raises
``TrainingDivergedError`` in the first epoch, and the same fit with
``gradient_clip=1.0`` trains.

The lesson's hand-written loop (zero_grad, forward, loss, backward, step,
per-epoch evaluation) is what ``fit`` runs; ``history_frame()`` holds what
the loop printed.

Usage::

    python examples/mlp_synthetic_binary.py --out figures/

``NNESTIMATORS_QUICK=1`` shrinks the data and epochs to a smoke test.
"""

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnestimators import NNBinaryClassifier, NNRegressor, TrainingDivergedError

QUICK = os.environ.get("NNESTIMATORS_QUICK") == "1"
N_SAMPLES = 200 if QUICK else 1000
EPOCHS = 3 if QUICK else 50
LEARNING_RATES = (0.1, 0.01, 0.001)
SEED = 42


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the PNG figures")
    return parser.parse_args()


def save_figure(figure, out, name):
    # A bare Figure (no pyplot) renders with Agg and opens no window.
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        figure.savefig(out / f"{name}.png", dpi=100)
        print(f"  saved {out / name}.png")


# -- classification ------------------------------------------------------------


def classification_data():
    """The lesson's two well-separated classes, 80/20 train/test split."""
    X, y = make_classification(
        n_samples=N_SAMPLES,
        n_features=2,
        n_informative=2,
        n_redundant=0,
        n_clusters_per_class=1,
        random_state=SEED,
    )
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=SEED)


def binary_mlp(lr):
    """One hidden layer of 10 ReLU units, Adam, batches of 32 (as in the lesson).

    A fifth of the training rows is held out each epoch, so the history
    shows the validation loss the lesson computed by hand.
    """
    return make_pipeline(
        StandardScaler(),
        NNBinaryClassifier(
            module__hidden_units=(10,),
            lr=lr,
            max_epochs=EPOCHS,
            batch_size=32,
            validation_fraction=0.2,
            random_state=SEED,
        ),
    )


def classification_scores(model, X_test, y_test):
    y_pred = model.predict(X_test)
    y_score = model.predict_proba(X_test)[:, 1]
    return {
        "accuracy": accuracy_score(y_test, y_pred),
        "precision": precision_score(y_test, y_pred),
        "recall": recall_score(y_test, y_pred),
        "f1": f1_score(y_test, y_pred),
        "roc_auc": roc_auc_score(y_test, y_score),
    }


def compare_learning_rates(X_train, X_test, y_train, y_test):
    """Fit one model per learning rate; return their training histories."""
    histories = {}
    for lr in LEARNING_RATES:
        model = binary_mlp(lr).fit(X_train, y_train)
        histories[lr] = model[-1].history_frame()
        scores = classification_scores(model, X_test, y_test)
        last = histories[lr].iloc[-1]
        print(
            f"  lr={lr:<6} train loss {last.train_loss:.4f}  "
            f"valid loss {last.valid_loss:.4f}  test accuracy {scores['accuracy']:.4f}"
        )
    return histories


def learning_rate_figure(histories):
    """One panel per learning rate, sharing the loss axis for a fair comparison."""
    figure = Figure(figsize=(4 * len(histories), 3.5), layout="tight")
    axes = figure.subplots(1, len(histories), sharey=True)
    for ax, (lr, history) in zip(axes, histories.items()):
        ax.plot(history.epoch, history.train_loss, label="train loss")
        ax.plot(history.epoch, history.valid_loss, label="validation loss")
        ax.set_title(f"lr = {lr}")
        ax.set_xlabel("epoch")
    axes[0].set_ylabel("binary cross-entropy")
    axes[0].legend()
    return figure


# -- regression and exploding gradients ------------------------------------------


def regression_data():
    X, y = make_regression(
        n_samples=N_SAMPLES, n_features=10, noise=10.0, random_state=SEED
    )
    return train_test_split(X, y, test_size=0.2, random_state=SEED)


def regression_errors(model, X_test, y_test):
    mse = mean_squared_error(y_test, model.predict(X_test))
    return {
        "MSE": mse,
        "RMSE": np.sqrt(mse),
        "MAE": mean_absolute_error(y_test, model.predict(X_test)),
    }


def scaled_regressor():
    """Scaled inputs and targets: the setting in which Adam's defaults just work."""
    network = NNRegressor(lr=0.01, max_epochs=EPOCHS, random_state=SEED)
    return TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), network),
        transformer=StandardScaler(),
    )


def sgd_regressor(gradient_clip):
    """Plain SGD with a high learning rate on unscaled targets (y in the hundreds).

    ``standardize_target=False`` trains on y as it is, as the lesson's loop
    did (by default ``NNRegressor`` standardizes y, which avoids the problem).
    The first gradients are then huge, the weights overshoot and the loss
    becomes infinite within the first epoch; clipping the gradient norm to
    1.0 bounds every step.
    """
    network = NNRegressor(
        optimizer=torch.optim.SGD,
        lr=0.05,
        standardize_target=False,
        gradient_clip=gradient_clip,
        max_epochs=EPOCHS,
        random_state=SEED,
    )
    return make_pipeline(StandardScaler(), network)


def show_gradient_clipping(X_train, X_test, y_train, y_test):
    """Train without and with clipping; return the clipped run's history."""
    try:
        unclipped = sgd_regressor(gradient_clip=None).fit(X_train, y_train)
    except TrainingDivergedError as error:
        print(f"  without clipping: TrainingDivergedError: {error}")
    else:
        errors = regression_errors(unclipped, X_test, y_test)
        print(f"  without clipping: stayed finite, test RMSE {errors['RMSE']:.2f}")
    clipped = sgd_regressor(gradient_clip=1.0).fit(X_train, y_train)
    history = clipped[-1].history_frame()
    errors = regression_errors(clipped, X_test, y_test)
    print(
        f"  with gradient_clip=1.0: finite, training MSE "
        f"{history.train_loss.iloc[0]:.0f} -> {history.train_loss.iloc[-1]:.0f}, "
        f"test RMSE {errors['RMSE']:.2f}"
    )
    return history


def clipping_figure(history):
    figure = Figure(figsize=(5, 3.5), layout="tight")
    ax = figure.subplots()
    ax.plot(history.epoch, history.train_loss)
    ax.set_yscale("log")  # the loss falls by orders of magnitude
    ax.set_title("SGD, lr=0.05, unscaled y, gradient_clip=1.0")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training MSE")
    return figure


def main():
    args = parse_args()

    print("Binary classification, lr=0.01 (test split):")
    X_train, X_test, y_train, y_test = classification_data()
    model = binary_mlp(lr=0.01).fit(X_train, y_train)
    for name, value in classification_scores(model, X_test, y_test).items():
        print(f"  {name:<9} {value:.4f}")

    print("Learning-rate challenge:")
    histories = compare_learning_rates(X_train, X_test, y_train, y_test)
    save_figure(learning_rate_figure(histories), args.out, "learning_rates")

    print("Regression (scaled inputs and targets, test split):")
    X_train, X_test, y_train, y_test = regression_data()
    regressor = scaled_regressor().fit(X_train, y_train)
    for name, value in regression_errors(regressor, X_test, y_test).items():
        print(f"  {name:<4} {value:.2f}")

    print("Exploding gradients (SGD, lr=0.05, standardize_target=False):")
    history = show_gradient_clipping(X_train, X_test, y_train, y_test)
    save_figure(clipping_figure(history), args.out, "gradient_clipping")


if __name__ == "__main__":
    main()
