"""A feed-forward network on handwritten digits, trained with SGD and with Adam.

Mirrors seed lesson 004, training a feed-forward network on MNIST digits,
with scikit-learn's own 8x8 digits (1,797 images that ship with
scikit-learn) standing in for MNIST's 28x28 ones, so nothing is downloaded.
The lesson's pieces map onto estimator parameters: the Dataset and
DataLoader are the arrays and ``batch_size``; the ``nn.Module`` is the
default ``MLP``, which flattens each image; the loss is cross-entropy
(``NNClassifier``'s default criterion); the optimizer is ``optimizer`` with
its arguments as ``optimizer__*``; the epochs are ``max_epochs``; the
training loop with its backpropagation is ``fit``.

Usage::

    python examples/mnist_style_digits_mlp.py --out figures/

``NNESTIMATORS_QUICK=1`` shrinks the data and epochs to a smoke test.
"""

import argparse
import os
from pathlib import Path

import torch
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from nnestimators import NNClassifier

QUICK = os.environ.get("NNESTIMATORS_QUICK") == "1"
N_IMAGES = 300 if QUICK else None  # None: all 1,797
EPOCHS = 2 if QUICK else 30
SEED = 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the PNG figure")
    return parser.parse_args()


def load_images():
    """Images of shape (n, 8, 8) scaled to [0, 1], as ToTensor() scales MNIST."""
    digits = load_digits()
    X = digits.images[:N_IMAGES] / 16.0
    y = digits.target[:N_IMAGES]
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=SEED)


def feed_forward_network(**optimizer):
    """Two hidden ReLU layers with dropout; 10% of the rows monitor each epoch."""
    return NNClassifier(
        module__hidden_units=(128, 64),
        module__dropout=0.2,
        max_epochs=EPOCHS,
        batch_size=64,
        validation_fraction=0.1,
        random_state=SEED,
        **optimizer,
    )


OPTIMIZERS = {
    "SGD (lr=0.01, momentum=0.9)": {
        "optimizer": torch.optim.SGD,
        "lr": 0.01,
        "optimizer__momentum": 0.9,
    },
    "Adam (lr=0.001)": {"optimizer": torch.optim.Adam, "lr": 1e-3},
}


def training_curves_figure(histories):
    figure = Figure(figsize=(9, 3.5), layout="tight")
    loss_ax, accuracy_ax = figure.subplots(1, 2)
    for index, (name, history) in enumerate(histories.items()):
        color = f"C{index}"  # one colour per optimizer in both panels
        loss_ax.plot(history.epoch, history.train_loss, color=color, label=name)
        loss_ax.plot(history.epoch, history.valid_loss, "--", color=color)
        accuracy_ax.plot(history.epoch, history.valid_accuracy, color=color)
    loss_ax.set(title="cross-entropy loss (train solid, valid dashed)", xlabel="epoch")
    accuracy_ax.set(title="validation accuracy", xlabel="epoch")
    loss_ax.legend(fontsize="small")
    return figure


def main():
    args = parse_args()
    X_train, X_test, y_train, y_test = load_images()
    print(f"{len(X_train)} training and {len(X_test)} test images of 8x8 pixels")

    histories = {}
    for name, optimizer in OPTIMIZERS.items():
        model = feed_forward_network(**optimizer).fit(X_train, y_train)
        histories[name] = model.history_frame()
        seconds = histories[name].dur.sum()
        print(
            f"{name:<28} test accuracy {model.score(X_test, y_test):.4f} "
            f"({len(histories[name])} epochs, {seconds:.1f} s)"
        )

    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "digits_sgd_vs_adam.png"
        training_curves_figure(histories).savefig(path, dpi=100)
        print(f"saved {path}")


if __name__ == "__main__":
    main()
