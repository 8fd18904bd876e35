"""The package version, one place for the package and its checkpoints."""

__version__ = "0.1.0"
