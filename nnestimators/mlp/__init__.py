"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by torch.

``nnestimators.MLPClassifier`` and ``nnestimators.MLPRegressor`` (in
``estimators.py``) take MLP's constructor exactly and train one of the
package's estimators, ``net_``, through skorch's loop.

=================  =========================================================
module             holds
=================  =========================================================
``estimators``     the public classes: signature, docstrings, tags, predict
``fitting``        what ``fit`` and ``partial_fit`` share: MLP's rules
``parameters``     MLP's parameters: valid values, storage
``checkpointing``  the drop-in's record in ``net_``'s checkpoints, loading
``translate``      MLP's parameters as the settings of ``net_``
``mapping``        the one table of MLP names and their package settings
``nets``           the package's estimators with MLP's ``alpha`` (``net_``)
``control``        MLP's solver state and epoch rules, as a callback
``solvers``        MLP's SGD and Adam, scipy's L-BFGS-B, as torch optimizers
``network``        the module in MLP's layout, and MLP's initialisation
``losses``         MLP's losses per sample
=================  =========================================================

This package module imports nothing, so that ``nnestimators.parameters``
can read ``mapping`` (the hints for MLP names given to ``NNClassifier``)
below the estimators.
"""
