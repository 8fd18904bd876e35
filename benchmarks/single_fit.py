"""One fit of one implementation, set up exactly as in the suite, for profiling.

Example::

    python -m cProfile -s cumtime -m benchmarks.single_fit --batch-size 32 | head -60
"""

from __future__ import annotations

import argparse
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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_threads(args.threads)
    impl = IMPLEMENTATIONS[args.impl]
    X, y = make_dataset(args.n_rows, FULL.n_features, FULL.seed)
    settings = replace(FULL.settings(args.batch_size), epochs=args.epochs)
    seconds, _ = timed(lambda: impl.fit(X, y, settings))
    print(f"{impl.key} fit: {seconds:.3f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
