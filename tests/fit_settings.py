"""Fit settings the tests share, so that "a quick test fit" is defined once.

Test files import this module by name, as test_dask.py imports test_runtime:
pytest puts tests/ on ``sys.path``. A file that needs other values derives
them from these, visibly, next to its reason::

    FAST = {**fit_settings.FAST, "max_epochs": 10}  # searches compare candidates
"""

SEEDED = {"random_state": 0}
"""The same fit gives the same network, test run after test run."""

REPRODUCIBLE = {**SEEDED, "n_threads": 1}
"""Seeded, on one torch thread whatever ``n_threads="auto"`` would pick."""

FAST = {**REPRODUCIBLE, "max_epochs": 3, "batch_size": 32}
"""A few short epochs: enough to exercise training, not to learn much."""
