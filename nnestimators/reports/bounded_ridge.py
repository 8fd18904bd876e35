"""Ridge regression choosing its penalty in bounded memory: the linear baseline.

``sklearn.linear_model.RidgeCV`` picks its penalty by efficient leave-one-out
cross-validation, which builds and decomposes a dense square matrix as wide
as the smaller side of the table (``X @ X.T`` or ``X.T @ X``), in float64,
in time cubic in that side. With its eigenvectors and copies, a dense
float32 table of 1,500 x 1,500 (9 MB) peaked at 72 MB: 10,000 x 10,000
would need about 3 GB. A sparse table's matrix has no bound in its data:
3,000 x 15,000 with 1 MB of values peaked at 218 MB.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

# The side of the largest matrix RidgeCV's leave-one-out may decompose:
# 1,000 x 1,000 is 8 MB in float64; choosing one of 13 penalties needs no
# more rows than that.
MAX_SEARCH_ROWS = 1_000

# The sparse formats whose rows can be drawn; others are converted to CSR.
_SPARSE_FORMATS = ("csr", "csc")


class BoundedRidgeCV(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ridge regression whose penalty is chosen on at most ``max_rows`` rows.

    When the table has at most ``max_rows`` rows or at most ``max_rows``
    columns, this is ``RidgeCV(alphas=alphas)``: the matrix its
    leave-one-out decomposes is at most ``max_rows`` wide. Otherwise the
    penalty is chosen by ``RidgeCV`` on ``max_rows`` rows drawn at random,
    and ``Ridge`` with that penalty is fitted on all rows by the iterative
    LSQR solver, whose memory is that of the data (dense or sparse).

    Parameters
    ----------
    alphas : array-like of float, default=(0.1, 1.0, 10.0)
        The penalties to choose from.
    max_rows : int, default=1000
        The most rows (and so the widest square matrix) the leave-one-out
        choice works on.
    random_state : int, RandomState instance or None, default=0
        The draw of the rows, when there are more than ``max_rows``.

    Attributes
    ----------
    alpha_ : float
        The chosen penalty.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        The coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        The intercept.
    n_search_rows_ : int
        How many rows the penalty was chosen on.
    model_ : RidgeCV or Ridge
        The fitted model that predicts.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Names of the features seen during ``fit``, when they are all strings.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=300, n_features=400, random_state=0)
    >>> model = BoundedRidgeCV(alphas=[0.1, 1.0, 10.0], max_rows=100).fit(X, y)
    >>> model.n_search_rows_
    100
    """

    def __init__(
        self, alphas=(0.1, 1.0, 10.0), *, max_rows=MAX_SEARCH_ROWS, random_state=0
    ):
        self.alphas = alphas
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        """Choose the penalty and fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The target.
        sample_weight : float or array-like of shape (n_samples,), default=None
            Weights of the samples, in the choice and in the fit.

        Returns
        -------
        self : BoundedRidgeCV
        """
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=_SPARSE_FORMATS,
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=True,
        )
        n_rows, n_columns = X.shape
        search = RidgeCV(alphas=self.alphas)
        if min(n_rows, n_columns) <= self.max_rows:
            self.model_ = search.fit(X, y, sample_weight=sample_weight)
            self.n_search_rows_ = n_rows
        else:
            random_state = check_random_state(self.random_state)
            rows = np.sort(random_state.choice(n_rows, self.max_rows, replace=False))
            search.fit(X[rows], y[rows], sample_weight=_take(sample_weight, rows))
            ridge = Ridge(alpha=search.alpha_, solver="lsqr")
            self.model_ = ridge.fit(X, y, sample_weight=sample_weight)
            self.n_search_rows_ = self.max_rows
        self.alpha_ = search.alpha_
        self.coef_ = self.model_.coef_
        self.intercept_ = self.model_.intercept_
        return self

    def predict(self, X):
        """Predict with the fitted ridge model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=_SPARSE_FORMATS,
            dtype=[np.float64, np.float32],
            reset=False,
        )
        return self.model_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _take(sample_weight, rows):
    """The weights of ``rows``: a scalar or None applies to every row."""
    if sample_weight is None or np.ndim(sample_weight) == 0:
        return sample_weight
    return np.asarray(sample_weight)[rows]
