"""Evaluation: image metrics, novel-view cameras and ground truth, reconstruction metrics."""
