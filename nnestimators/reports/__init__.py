"""Cross-validated reports and training-history plots.

>>> from nnestimators.reports import cross_validated_report, plot_history
"""

from .cross_validation import cross_validated_report
from .figures import plot_history
from .folds import FoldResult
from .predictions import FoldPredictions
from .report import CrossValidatedReport

__all__ = [
    "CrossValidatedReport",
    "FoldPredictions",
    "FoldResult",
    "cross_validated_report",
    "plot_history",
]
