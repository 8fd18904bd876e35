"""Benchmark suite for nnestimators.

Run it with ``python -m benchmarks`` (see ``benchmarks/README.md``). It compares
an nnestimators classifier with a hand-written PyTorch loop, stock skorch and
scikit-learn's ``MLPClassifier`` on the same network, data and epochs.
"""
