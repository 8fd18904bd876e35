"""File names and format markers of a checkpoint on disk."""

CHECKPOINT_FILE = "checkpoint.pt"
DESCRIPTION_FILE = "estimator.json"
FORMAT = "nnestimators.checkpoint"
# 2: adds "checksums" (sha256 of the config, the history and the tensors).
# 3: the fitted target is saved whole ("fitted" -> "target_"), in place of
#    classes_, target_mean_, target_scale_ and _target_ndim.
FORMAT_VERSION = 3
# Temporary files of writes in progress, renamed over their target when whole.
TMP_PREFIX = ".tmp-"
