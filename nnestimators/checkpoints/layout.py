"""File names and format markers of a checkpoint on disk."""

CHECKPOINT_FILE = "checkpoint.pt"
DESCRIPTION_FILE = "estimator.json"
FORMAT = "nnestimators.checkpoint"
FORMAT_VERSION = 1
