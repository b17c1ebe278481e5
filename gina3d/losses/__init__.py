"""Stage-1 loss terms: reconstruction, masks, LiDAR depth, adversarial (one file each)."""
