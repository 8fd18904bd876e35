"""One fit of one implementation, set up exactly as in the suite, for profiling.

A warm-up fit on a few rows runs first (lazy imports, one-off setup), then the
measured fit. Examples::

    python -m benchmarks.single_fit --batch-size 32 --profile --sort tottime
    python -m cProfile -s cumtime -m benchmarks.single_fit --batch-size 512
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from dataclasses import replace

from benchmarks.config import FULL
from benchmarks.data import make_dataset
from benchmarks.implementations import ALL_IMPLEMENTATIONS
from benchmarks.measure import timed
from benchmarks.suite import configure_threads

IMPLEMENTATIONS = {impl.key: impl for impl in ALL_IMPLEMENTATIONS}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.single_fit")
    parser.add_argument(
        "--impl", choices=sorted(IMPLEMENTATIONS), default="nnestimators"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--n-rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=FULL.epochs)
    parser.add_argument("--threads", type=int, default=FULL.threads)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the measured fit only"
    )
    parser.add_argument("--sort", default="cumtime", help="pstats sort key")
    parser.add_argument("--top", type=int, default=40, help="rows of the profile")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_threads(args.threads)
    impl = IMPLEMENTATIONS[args.impl]
    X, y = make_dataset(args.n_rows, FULL.n_features, FULL.seed)
    settings = replace(FULL.settings(args.batch_size), epochs=args.epochs)
    # A first fit pays for lazy imports and one-off setup; measure the second.
    impl.fit(X[:256], y[:256], replace(settings, epochs=1))
    if args.profile:
        profile = cProfile.Profile()
        timing, _ = timed(lambda: profile.runcall(impl.fit, X, y, settings))
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    else:
        timing, _ = timed(lambda: impl.fit(X, y, settings))
    print(
        f"{impl.key} fit: {timing.wall:.3f}s (CPU {timing.cpu:.3f}s)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
