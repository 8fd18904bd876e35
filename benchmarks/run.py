"""Entry point for ``python benchmarks/run.py`` (same as ``python -m benchmarks``)."""

import sys
from pathlib import Path

if not __package__:
    # Run as a script: make the repository root importable so that the
    # ``benchmarks`` package resolves the same way as with ``python -m``.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
