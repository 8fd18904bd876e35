"""The MLP drop-ins against scikit-learn's MLP: ``python -m benchmarks mlp``.

Three measurements, each side by side in one process on one thread (torch
and numpy's BLAS alike), implementations interleaved within each repeat,
medians of wall-clock fit time:

- **gallery**: the fits of scikit-learn's MLP gallery examples (classifier
  comparison, ``plot_mlp_alpha`` with lbfgs, training curves on iris,
  digits, circles and moons, the digits filters, an early-stopping
  regressor, the partial-dependence regressor on California-like synthetic
  data), same data, splits and seeds; scores and time ratios, after a
  warm-up fit of each implementation;
- **crossover**: rows x hidden width (adam, batch 200, 30,000 rows seen, at
  least 3 epochs, no stop), in float64 and float32; ratio < 1 means the
  drop-in is faster;
- **first fit**: the first fit in a fresh process (a new interpreter each),
  for the drop-in, ``NNClassifier`` with ``torch.optim.Adam`` and
  scikit-learn.

``--quick`` runs a few small cases once (the smoke test); ``--parts``
picks some of ``gallery,crossover,first-fit``; ``--out FILE`` writes the
tables as Markdown.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn.neural_network as sk
from sklearn.datasets import (
    load_digits,
    load_iris,
    make_circles,
    make_classification,
    make_friedman1,
    make_moons,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler

import nnestimators as nn
from benchmarks.suite import configure_threads

IMPLEMENTATIONS = (("sklearn", sk), ("nnestimators", nn))
CURVE_SETTINGS = {
    "sgd constant": {"solver": "sgd", "momentum": 0, "learning_rate_init": 0.2},
    "sgd momentum": {
        "solver": "sgd",
        "momentum": 0.9,
        "nesterovs_momentum": False,
        "learning_rate_init": 0.2,
    },
    "sgd nesterov": {"solver": "sgd", "momentum": 0.9, "learning_rate_init": 0.2},
    "sgd invscaling": {
        "solver": "sgd",
        "learning_rate": "invscaling",
        "momentum": 0,
        "learning_rate_init": 0.2,
    },
    "sgd invscaling nesterov": {
        "solver": "sgd",
        "learning_rate": "invscaling",
        "momentum": 0.9,
        "learning_rate_init": 0.2,
    },
    "sgd invscaling momentum": {
        "solver": "sgd",
        "learning_rate": "invscaling",
        "momentum": 0.9,
        "nesterovs_momentum": False,
        "learning_rate_init": 0.2,
    },
    "adam": {"solver": "adam", "learning_rate_init": 0.01},
}


def linearly_separable():
    X, y = make_classification(
        n_features=2,
        n_redundant=0,
        n_informative=2,
        random_state=1,
        n_clusters_per_class=1,
    )
    return X + 2 * np.random.RandomState(2).uniform(size=X.shape), y


def two_d_sets():
    return [
        ("moons", make_moons(noise=0.3, random_state=0)),
        ("circles", make_circles(noise=0.2, factor=0.5, random_state=1)),
        ("linearly separable", linearly_separable()),
    ]


def california_like(n=20640, seed=0):
    """California housing's eight feature shapes, synthetic (nothing is
    downloaded): skewed incomes, heavy-tailed rooms and occupancy, bounded
    ages, latitude and longitude; a smooth nonlinear target."""
    rng = np.random.RandomState(seed)
    income = rng.lognormal(1.2, 0.45, n)
    age = rng.uniform(1, 52, n).round()
    rooms = rng.lognormal(1.6, 0.3, n) * (1 + 0.05 * rng.standard_t(2, n).clip(-5, 30))
    bedrooms = rooms * rng.uniform(0.15, 0.25, n)
    population = rng.lognormal(7.0, 0.8, n)
    tail = np.abs(rng.standard_t(1.5, n)).clip(0, 500)
    occupancy = rng.lognormal(1.05, 0.3, n) * (1 + 0.02 * tail)
    latitude = rng.uniform(32.5, 42, n)
    longitude = -124 + (42 - latitude) * 0.9 + rng.normal(0, 1, n)
    y = (
        0.45 * income
        - 0.4 * np.log(occupancy)
        + 0.004 * age
        + 0.3 * np.sin(latitude - 34) * np.cos(longitude + 120)
        + 0.05 * np.log(rooms)
        + rng.normal(0, 0.35, n)
    )
    X = np.column_stack(
        [income, age, rooms, bedrooms, population, occupancy, latitude, longitude]
    )
    return X, y - y.mean()


def gallery_cases(quick=False):
    """``(group, case, make(module), X_train, y_train, X_score, y_score)``."""
    cases = []
    for name, (X, y) in two_d_sets():
        split = train_test_split(X, y, test_size=0.4, random_state=42)
        cases.append(
            (
                "classifier comparison",
                name,
                lambda M: make_pipeline(
                    StandardScaler(),
                    M.MLPClassifier(alpha=1, max_iter=1000, random_state=42),
                ),
                split[0],
                split[2],
                split[1],
                split[3],
            )
        )
        for alpha in [] if quick else np.logspace(-1, 1, 5):
            cases.append(
                (
                    "mlp_alpha (lbfgs)",
                    f"{name} alpha={alpha:.2f}",
                    lambda M, a=alpha: make_pipeline(
                        StandardScaler(),
                        M.MLPClassifier(
                            solver="lbfgs",
                            alpha=a,
                            random_state=1,
                            max_iter=2000,
                            early_stopping=True,
                            hidden_layer_sizes=[10, 10],
                        ),
                    ),
                    split[0],
                    split[2],
                    split[1],
                    split[3],
                )
            )
    iris, digits = load_iris(), load_digits()
    curve_sets = [
        ("iris", iris.data, iris.target),
        ("digits", digits.data, digits.target),
        ("circles", *make_circles(noise=0.2, factor=0.5, random_state=1)),
        ("moons", *make_moons(noise=0.3, random_state=0)),
    ]
    for name, X, y in curve_sets[:1] if quick else curve_sets:
        X = MinMaxScaler().fit_transform(X)
        max_iter = 15 if name == "digits" else 400
        for label, settings in CURVE_SETTINGS.items():
            cases.append(
                (
                    "training curves",
                    f"{name} {label}",
                    lambda M, s=settings, m=max_iter: M.MLPClassifier(
                        random_state=0, max_iter=m, **s
                    ),
                    X,
                    y,
                    X,
                    y,
                )
            )
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    cases.append(
        (
            "digits filters",
            "sgd (40,), 8 epochs",
            lambda M: M.MLPClassifier(
                hidden_layer_sizes=(40,),
                max_iter=8,
                alpha=1e-4,
                solver="sgd",
                random_state=1,
                learning_rate_init=0.2,
            ),
            X[:1500],
            y[:1500],
            X[1500:],
            y[1500:],
        )
    )
    if quick:
        return cases
    X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    split = train_test_split(X, y, random_state=0)
    cases.append(
        (
            "early-stopping regressor",
            "friedman1, 2000 rows",
            lambda M: make_pipeline(
                StandardScaler(),
                M.MLPRegressor(
                    hidden_layer_sizes=(50,),
                    early_stopping=True,
                    max_iter=500,
                    random_state=0,
                ),
            ),
            split[0],
            split[2],
            split[1],
            split[3],
        )
    )
    X, y = california_like()
    split = train_test_split(X, y, test_size=0.1, random_state=0)
    cases.append(
        (
            "partial dependence",
            "California-like, 18,576 rows",
            lambda M: make_pipeline(
                # Seeded: it subsamples 10,000 rows, else each fit sees others.
                QuantileTransformer(random_state=0),
                M.MLPRegressor(
                    hidden_layer_sizes=(30, 15),
                    learning_rate_init=0.01,
                    early_stopping=True,
                    random_state=0,
                ),
            ),
            split[0],
            split[2],
            split[1],
            split[3],
        )
    )
    return cases


def _timed_fit(estimator, X, y):
    start = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - start


def run_gallery(repeats, quick, log):
    cases = gallery_cases(quick)
    _, _, make, X, y, _, _ = cases[0]
    for _, module in IMPLEMENTATIONS:  # first-fit costs are measured apart
        make(module).fit(X, y)
    rows = []
    for group, case, make, X, y, X_score, y_score in cases:
        times = {key: [] for key, _ in IMPLEMENTATIONS}
        scores = {}
        for repeat in range(repeats):
            order = IMPLEMENTATIONS if repeat % 2 == 0 else IMPLEMENTATIONS[::-1]
            for key, module in order:
                estimator = make(module)
                times[key].append(_timed_fit(estimator, X, y))
                scores[key] = estimator.score(X_score, y_score)
        row = {
            "group": group,
            "case": case,
            "sklearn_score": scores["sklearn"],
            "score": scores["nnestimators"],
            "sklearn_time": float(np.median(times["sklearn"])),
            "time": float(np.median(times["nnestimators"])),
        }
        rows.append(row)
        log(
            f"{group:24s} {case:32s} score {row['sklearn_score']:.3f} / "
            f"{row['score']:.3f}  ratio {row['time'] / row['sklearn_time']:.2f}"
        )
    return rows


# Rows the crossover's fits see, so that small tables fit long enough to time.
CROSSOVER_ROWS_SEEN = 30_000


def run_crossover(rows_list, widths, repeats, log):
    cells = []
    rng = np.random.RandomState(0)
    for n_rows in rows_list:
        X64 = rng.normal(size=(n_rows, 32))
        y = (X64[:, :10].sum(axis=1) * 3).astype(int) % 10
        epochs = max(3, CROSSOVER_ROWS_SEEN // n_rows)
        for width in widths:
            cell = {"rows": n_rows, "width": width, "epochs": epochs}
            for dtype in (np.float64, np.float32):
                X = X64.astype(dtype)
                times = {key: [] for key, _ in IMPLEMENTATIONS}
                for repeat in range(repeats + 1):  # the first is a warm-up
                    order = IMPLEMENTATIONS if repeat % 2 else IMPLEMENTATIONS[::-1]
                    for key, module in order:
                        estimator = module.MLPClassifier(
                            (width,),
                            max_iter=epochs,
                            tol=0,
                            n_iter_no_change=np.inf,
                            random_state=0,
                        )
                        elapsed = _timed_fit(estimator, X, y)
                        if repeat:
                            times[key].append(elapsed)
                ratio = np.median(times["nnestimators"]) / np.median(times["sklearn"])
                cell[np.dtype(dtype).name] = float(ratio)
            cells.append(cell)
            log(
                f"crossover {n_rows:6d} rows x {width:5d} wide: "
                f"float64 {cell['float64']:.2f}, float32 {cell['float32']:.2f}"
            )
    return cells


_FIRST_FIT = """
import time, warnings
warnings.simplefilter("ignore")
import numpy as np
from sklearn.datasets import load_iris
X, y = load_iris(return_X_y=True)
X = X.astype(np.float32)
if "{which}" == "sklearn":
    from sklearn.neural_network import MLPClassifier as Model
    model = Model(max_iter=50, random_state=0)
elif "{which}" == "drop-in":
    from nnestimators import MLPClassifier as Model
    model = Model(max_iter=50, random_state=0)
else:
    from nnestimators import NNClassifier as Model
    model = Model(max_epochs=50, random_state=0)
start = time.perf_counter()
model.fit(X, y)
print(time.perf_counter() - start)
"""


def run_first_fit(repeats, log):
    rows = []
    for which in ("sklearn", "drop-in", "NNClassifier (torch.optim.Adam)"):
        code = _FIRST_FIT.format(which=which.split()[0])
        times = []
        for _ in range(repeats):
            result = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            times.append(float(result.stdout.strip().splitlines()[-1]))
        rows.append({"estimator": which, "seconds": float(np.median(times))})
        log(f"first fit, {which}: {rows[-1]['seconds']:.2f} s")
    return rows


def render(gallery, crossover, first_fit, header):
    lines = [header]
    if gallery:
        lines += _gallery_tables(gallery)
    if crossover:
        lines += _crossover_table(crossover)
    if first_fit:
        lines += ["", "## First fit in a fresh process (iris, 50 epochs)", ""]
        lines += ["| estimator | seconds |", "| --- | --- |"]
        lines += [f"| {r['estimator']} | {r['seconds']:.2f} |" for r in first_fit]
    return "\n".join(lines) + "\n"


def _gallery_tables(gallery):
    lines = ["", "## Gallery fits (after a warm-up fit)", ""]
    lines += [
        "| group | case | sklearn score | ours | sklearn s | ours s | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in gallery:
        lines.append(
            f"| {r['group']} | {r['case']} | {r['sklearn_score']:.3f} | "
            f"{r['score']:.3f} | {r['sklearn_time']:.3f} | {r['time']:.3f} | "
            f"{r['time'] / r['sklearn_time']:.2f} |"
        )
    lines += ["", "| group | sklearn s | ours s | ratio | max score difference |"]
    lines.append("| --- | --- | --- | --- | --- |")
    groups = {}
    for r in gallery:
        groups.setdefault(r["group"], []).append(r)
    for group, rows in [*groups.items(), ("all", gallery)]:
        theirs = sum(r["sklearn_time"] for r in rows)
        ours = sum(r["time"] for r in rows)
        diff = max(abs(r["score"] - r["sklearn_score"]) for r in rows)
        lines.append(
            f"| {group} | {theirs:.2f} | {ours:.2f} | {ours / theirs:.2f} | {diff:.3f} |"
        )
    return lines


def _crossover_table(crossover):
    widths = sorted({c["width"] for c in crossover})
    lines = [
        "",
        "## Crossover: fit time ratio, drop-in / sklearn (float64 / float32)",
        "",
        "adam, batch 200, 32 features, 10 classes, one hidden layer, "
        f"{CROSSOVER_ROWS_SEEN:,} rows seen (at least 3 epochs); "
        "< 1 means the drop-in is faster.",
        "",
        "| rows \\ width | " + " | ".join(str(w) for w in widths) + " |",
        "| --- |" + " --- |" * len(widths),
    ]
    for n_rows in sorted({c["rows"] for c in crossover}):
        cells = {c["width"]: c for c in crossover if c["rows"] == n_rows}
        row = [
            f"{cells[w]['float64']:.2f} / {cells[w]['float32']:.2f}"
            if w in cells
            else ""
            for w in widths
        ]
        lines.append(f"| {n_rows:,} | " + " | ".join(row) + " |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks mlp")
    parser.add_argument("--quick", action="store_true", help="a few small cases, once")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--parts",
        default="gallery,crossover,first-fit",
        help="comma-separated: gallery, crossover, first-fit",
    )
    parser.add_argument("--out", type=Path, help="write the Markdown tables here")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    configure_threads(1)
    warnings.simplefilter("ignore")

    def log(message):
        print(message, file=sys.stderr, flush=True)

    parts = set(args.parts.split(","))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    gallery = run_gallery(repeats, args.quick, log) if "gallery" in parts else []
    crossover = []
    if "crossover" in parts and args.quick:
        crossover = run_crossover([500], [16, 64], 1, log)
    elif "crossover" in parts:
        sizes = ([500, 2000, 10000], [16, 64, 256, 1024, 2048])
        crossover = run_crossover(*sizes, max(repeats, 5), log)
    first_fit = []
    if "first-fit" in parts:
        first_fit = run_first_fit(1 if args.quick else repeats, log)
    header = (
        f"# MLP drop-ins vs scikit-learn's MLP\n\nMeasured {started}, one thread "
        f"for torch and numpy's BLAS, medians of {repeats} interleaved repeats."
    )
    page = render(gallery, crossover, first_fit, header)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(page, encoding="utf-8")
    print(page)
    return 0
