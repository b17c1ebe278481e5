"""Which object views become patches: thresholds, and counts of what each one removed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class FilterConfig:
    """Thresholds applied to every candidate view of an object, in this order."""

    max_distance: float = 60.0
    """Drop objects whose box centre is farther than this from the camera (metres)."""
    min_crop_px: float = 24.0
    """Drop objects whose square crop is smaller than this many frame pixels on a side."""
    max_truncation: float = 0.5
    """Drop objects with more than this fraction of their projected box outside the image."""
    min_visibility: float = 0.2
    """Drop objects with less than this fraction of their silhouette visible in the patch."""
    min_object_pixels: int = 40
    """Drop patches with fewer visible object pixels than this (at patch resolution)."""

    def validate(self) -> None:
        if self.max_distance <= 0 or self.min_crop_px < 0 or self.min_object_pixels < 0:
            raise ValueError("filters: distances and sizes must be positive")
        for name in ("max_truncation", "min_visibility"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"filters: {name} must lie in [0, 1]")


FILTER_NAMES = ("distance", "min_size", "truncation", "visibility", "object_pixels")


@dataclass
class FilterCounts:
    """How many candidate views were seen in some image, kept, and removed per filter."""

    candidates: int = 0
    kept: int = 0
    removed: Counter = field(default_factory=Counter)

    def add(self, other: FilterCounts) -> None:
        self.candidates += other.candidates
        self.kept += other.kept
        self.removed.update(other.removed)

    def to_dict(self) -> dict:
        return {
            "candidates": self.candidates,
            "kept": self.kept,
            "removed": {name: int(self.removed.get(name, 0)) for name in FILTER_NAMES},
        }

    @staticmethod
    def from_dict(d: dict) -> FilterCounts:
        return FilterCounts(int(d["candidates"]), int(d["kept"]), Counter(d["removed"]))
