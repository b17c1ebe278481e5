"""Training: run directories, checkpoints, distributed helpers, the loop, stage tasks."""
