"""The command's failures: input problems (exit 2) and training failures (exit 1)."""

from __future__ import annotations


class CliError(Exception):
    """An input problem, reported on one line with exit status 2."""


class RunError(Exception):
    """A failure while training, reported on one line with exit status 1."""


def first_line(error):
    """The first line of ``error``'s message, or its type's name if empty."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def shorten(text, limit=60):
    """``text`` cut to ``limit`` characters for a one-line message."""
    text = str(text)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
