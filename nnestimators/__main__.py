"""``python -m nnestimators``: the command line, as the ``nnestimators`` script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
