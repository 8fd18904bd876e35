"""File names and format markers of a checkpoint on disk."""

CHECKPOINT_FILE = "checkpoint.pt"
DESCRIPTION_FILE = "estimator.json"
FORMAT = "nnestimators.checkpoint"
# 2: adds "checksums" (sha256 of the config, the history and the tensors).
FORMAT_VERSION = 2
# Temporary files of writes in progress, renamed over their target when whole.
TMP_PREFIX = ".tmp-"
