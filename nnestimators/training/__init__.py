"""Training control: validation metrics, monitoring, schedules, progress, errors."""
