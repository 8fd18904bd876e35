"""Binary image classification with a CNN: the chest X-ray workflow, on digits.

This mirrors the seeds' chest X-ray example (normal vs pneumonia scans) with
data that ships with scikit-learn: two classes of the 8x8 ``load_digits``
images stand in for the two diagnoses and keep their names as string labels.
The workflow is the same as for real scans:

1. hold out a test set;
2. train ``NNBinaryClassifier(module=ConvNet)`` with a validation split, early
   stopping (``patience``), on-the-fly augmentation (small shifts and noise)
   and a checkpoint of the best epoch;
3. load the best model back from its checkpoint, as a later session would;
4. report test accuracy, precision, recall, F1 and ROC-AUC, and save the
   training curves as a PNG.

Run it with ``python examples/image_binary_scans.py [--out FOLDER]``; set
``NNESTIMATORS_QUICK=1`` for a few-second smoke run (fewer epochs).
"""

import argparse
import os
import time
from pathlib import Path

import matplotlib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split

from nnestimators import NNBinaryClassifier
from nnestimators.augment import Compose, GaussianNoise, RandomShift
from nnestimators.modules import ConvNet
from nnestimators.reports import plot_history

matplotlib.use("Agg")  # figures go to files, never to a window

# The digit that plays each diagnosis; 3 and 8 share strokes, so the task is
# easy but not trivial.
DIAGNOSES = {3: "normal", 8: "pneumonia"}
DEFAULT_OUT = Path("example-output")


def quick_from_env():
    """Whether ``NNESTIMATORS_QUICK=1`` asks for a fast smoke run."""
    return os.environ.get("NNESTIMATORS_QUICK", "") == "1"


def load_scans():
    """The two digit classes as (n, 8, 8) images in [0, 1] with diagnosis names."""
    images, digits = load_digits(return_X_y=True)
    keep = np.isin(digits, list(DIAGNOSES))
    # Pixel intensities run from 0 to 16; networks train best on [0, 1].
    X = (images[keep] / 16.0).reshape(-1, 8, 8).astype(np.float32)
    y = np.array([DIAGNOSES[d] for d in digits[keep]])
    return X, y


def make_model(checkpoint_dir, quick):
    """A small CNN with a validation split, early stopping and augmentation."""
    return NNBinaryClassifier(
        module=ConvNet,
        module__channels=(16, 32),
        validation_fraction=0.2,
        metrics=["accuracy"],
        patience=10,
        max_epochs=8 if quick else 80,
        # Scans are never perfectly centred or clean: shift by up to a pixel
        # and add a little noise, to training batches only.
        augment=Compose([RandomShift(1), GaussianNoise(0.05)]),
        checkpoint_dir=checkpoint_dir,
        random_state=0,
    )


def report(model, X_test, y_test):
    """Print test accuracy, per-class precision/recall/F1 and ROC-AUC."""
    predicted = model.predict(X_test)
    positive = model.classes_[1]
    scores = model.predict_proba(X_test)[:, 1]
    print(f"test accuracy: {accuracy_score(y_test, predicted):.3f}")
    print(
        f"test ROC-AUC ({positive} positive): {roc_auc_score(y_test == positive, scores):.3f}"
    )
    print(classification_report(y_test, predicted, digits=3))


def main(quick=False, out=DEFAULT_OUT):
    """Train, checkpoint, reload and evaluate; return the reloaded model."""
    quick = quick or quick_from_env()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    X, y = load_scans()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    print(
        f"{len(X_train)} training and {len(X_test)} test scans of shape {X.shape[1:]}"
    )

    model = make_model(out / "checkpoints", quick)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    print(
        f"trained {len(model.history_)} epochs in {time.perf_counter() - start:.1f} s; "
        f"best validation loss at epoch {model.best_epoch_}"
    )

    # What a later session does: rebuild the best model from disk alone.
    best = NNBinaryClassifier.from_checkpoint(model.checkpoint_path_)
    print(f"loaded the best epoch from {model.checkpoint_path_}")
    same = np.allclose(best.predict_proba(X_test), model.predict_proba(X_test))
    print(f"checkpoint matches the restored best weights: {same}")
    report(best, X_test, y_test)

    figure_path = out / "scans_training_curves.png"
    plot_history(model).savefig(figure_path, dpi=100)
    print(f"training curves saved to {figure_path}")
    return best


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="folder for the checkpoints and the figure (default: %(default)s)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main(quick=quick_from_env(), out=parse_args().out)
