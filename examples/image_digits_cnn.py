"""Ten-class digit recognition with a CNN: batch normalisation and a grid search.

This mirrors the seeds' image-classification challenge on data that ships
with scikit-learn (the 8x8 ``load_digits`` images, in place of MNIST-style
downloads):

1. train the same ``ConvNet`` with and without batch normalisation, with
   early stopping on a validation split, and compare test accuracy and the
   number of epochs each needs to reach its best validation loss;
2. tune the architecture and the learning rate with ``GridSearchCV`` over
   ``module__channels``, ``module__dropout`` and ``lr``, then report the best
   parameters and their test accuracy.

The validation curves of the comparison are saved as a PNG.

Run it with ``python examples/image_digits_cnn.py [--out FOLDER]``; set
``NNESTIMATORS_QUICK=1`` for a few-second smoke run (fewer images and epochs).
"""

import argparse
import os
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from nnestimators import NNClassifier
from nnestimators.modules import ConvNet

matplotlib.use("Agg")  # figures go to files, never to a window

DEFAULT_OUT = Path("example-output")
GRID = {
    "module__channels": [(8, 16), (16, 32)],
    "module__dropout": [0.0, 0.25],
    "lr": [1e-3, 3e-3],
}


def quick_from_env():
    """Whether ``NNESTIMATORS_QUICK=1`` asks for a fast smoke run."""
    return os.environ.get("NNESTIMATORS_QUICK", "") == "1"


def load_images(quick):
    """Digits as (n, 8, 8) images in [0, 1]; a stratified 500 when quick."""
    images, digits = load_digits(return_X_y=True)
    # Pixel intensities run from 0 to 16; networks train best on [0, 1].
    X = (images / 16.0).reshape(-1, 8, 8).astype(np.float32)
    if quick:
        X, _, digits, _ = train_test_split(
            X, digits, train_size=500, stratify=digits, random_state=0
        )
    return X, digits


def compare_batch_norm(X_train, y_train, X_test, y_test, quick):
    """Fit the CNN with and without batch norm; return {label: fitted model}."""
    models = {}
    for batch_norm in (True, False):
        model = NNClassifier(
            module=ConvNet,
            module__batch_norm=batch_norm,
            validation_fraction=0.15,
            patience=8,
            max_epochs=5 if quick else 40,
            random_state=0,
        )
        start = time.perf_counter()
        model.fit(X_train, y_train)
        label = "batch norm" if batch_norm else "no batch norm"
        print(
            f"{label:>13}: test accuracy {model.score(X_test, y_test):.3f}, "
            f"best epoch {model.best_epoch_} of {len(model.history_)}, "
            f"{time.perf_counter() - start:.1f} s"
        )
        models[label] = model
    return models


def plot_validation_curves(models):
    """Validation loss and accuracy per epoch, one line per model."""
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    axes = figure.subplots(1, 2)
    for color, (label, model) in zip(("C0", "C1"), models.items()):
        history = model.history_frame()
        for ax, column in zip(axes, ("valid_loss", "valid_accuracy")):
            ax.plot(history["epoch"], history[column], color=color, label=label)
            # Dotted: the epoch whose weights the model kept.
            ax.axvline(model.best_epoch_, color=color, linestyle=":")
            ax.set(title=column, xlabel="epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].legend()
    figure.suptitle("ConvNet on digits: batch normalisation on and off")
    return figure


def grid_search(X_train, y_train, quick):
    """Tune channels, dropout and learning rate by cross-validated accuracy."""
    search = GridSearchCV(
        NNClassifier(module=ConvNet, max_epochs=3 if quick else 10, random_state=0),
        GRID,
        cv=2,
    )
    start = time.perf_counter()
    search.fit(X_train, y_train)
    print(
        f"grid search: {len(search.cv_results_['params'])} candidates x "
        f"{search.n_splits_} folds in {time.perf_counter() - start:.1f} s"
    )
    return search


def ranking(search):
    """The candidates ordered by mean cross-validated accuracy."""
    results = pd.DataFrame(search.cv_results_)
    columns = [f"param_{name}" for name in GRID] + [
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
    ]
    return results[columns].sort_values("rank_test_score")


def main(quick=False, out=DEFAULT_OUT):
    """Run the comparison and the grid search; return the fitted search."""
    quick = quick or quick_from_env()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_images(quick)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    print(f"{len(X_train)} training and {len(X_test)} test images, 10 classes\n")

    models = compare_batch_norm(X_train, y_train, X_test, y_test, quick)
    figure_path = out / "digits_batch_norm.png"
    plot_validation_curves(models).savefig(figure_path, dpi=100)
    print(f"validation curves saved to {figure_path}\n")

    search = grid_search(X_train, y_train, quick)
    with pd.option_context("display.width", 120):
        print(ranking(search).to_string(index=False))
    print(f"best parameters: {search.best_params_}")
    print(f"best cross-validated accuracy: {search.best_score_:.3f}")
    print(
        f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}"
    )
    return search


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="folder for the figure (default: %(default)s)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main(quick=quick_from_env(), out=parse_args().out)
