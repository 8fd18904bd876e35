"""Numbers as people read them: significant digits and thousands separators."""

from __future__ import annotations

import math


def format_number(value, digits=4):
    """``value`` with ``digits`` significant digits, thousands separated.

    Large numbers keep their integer digits (``37,260``), small ones their
    significant decimals (``0.9613``); trailing zeros go. Only numbers of
    1e15 and more, or under 1e-4, use exponent notation.

    Parameters
    ----------
    value : float
        The number; NaN and infinities print as ``nan``, ``inf``, ``-inf``.
    digits : int, default=4
        Significant digits.

    Returns
    -------
    text : str

    Examples
    --------
    >>> format_number(37260.41)
    '37,260'
    >>> format_number(3801.7, digits=2)
    '3,800'
    >>> format_number(0.96134)
    '0.9613'
    >>> format_number(0.0123, digits=2)
    '0.012'
    >>> format_number(2.0)
    '2'
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if exponent >= 15 or exponent < -4:
        return f"{value:.{digits}g}"
    places = digits - 1 - exponent
    rounded = round(value, places)
    # Rounding may add a digit (9,999.6 -> 10,000); that is fine.
    text = f"{rounded:,.{max(places, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_count(count):
    """A count in full, thousands separated: ``10,000``.

    Counts of rows, columns and class members are exact; ``format_number``
    would round them to its significant digits.

    Examples
    --------
    >>> format_count(12345)
    '12,345'
    """
    return f"{int(count):,}"


def mean_and_std(mean, std):
    """``"0.9613 ± 0.012"`` or ``"37,260 ± 3,800"``.

    The mean has four significant digits (at least its integer digits), the
    standard deviation two: plenty for cross-validated scores.

    Examples
    --------
    >>> mean_and_std(37260.4, 3801.2)
    '37,260 ± 3,800'
    >>> mean_and_std(0.5, float("nan"))
    '0.5'
    """
    if std is None or math.isnan(float(std)):
        return format_number(mean)
    return f"{format_number(mean)} ± {format_number(std, digits=2)}"
