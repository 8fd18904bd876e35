"""``main``: runs a command and turns its failures into exit statuses."""

from __future__ import annotations

import io
import os
import shlex
import sys

from .errors import CliError, RunError
from .parser import PROG, build_parser, parse_arguments


def main(argv=None):
    """Run the ``nnestimators`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        0 on success, 2 for invalid input, 1 when training fails, 130 when
        interrupted.

    Examples
    --------
    >>> main(["report", "--max-epochs", "5", "--cv", "3"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    if argv is None:
        argv = sys.argv[1:]
    try:
        args = parse_arguments(parser, argv)
        # What the report records as the command that made it.
        args.command_line = shlex.join([PROG, *map(str, argv)])
        return args.handler(args)
    except CliError as error:
        _print_error(error)
        return 2
    except RunError as error:
        _print_error(error)
        return 1
    except SystemExit as done:
        # --help and --version exit through argparse; return their status.
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into a program that stopped reading, e.g. ``head``.
        _silence_stdout()
        return 1


def _silence_stdout():
    """Point stdout at devnull so Python's final flush raises nothing."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def _print_error(error):
    """Print ``error`` as a single line on stderr."""
    message = " ".join(str(error).split())
    print(f"{PROG}: error: {message}", file=sys.stderr)
