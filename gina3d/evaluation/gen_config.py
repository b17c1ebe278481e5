"""``GenEvalConfig``: the settings of ``gina3d eval gen`` and of ``evaluate_generated``.

One dataclass with one default per quantity, for both halves of generation evaluation:
the run side (``gen_eval.evaluate_gen_run``: how many assets, how they are sampled,
rendered and meshed, which reference shapes) and the metric side
(``generation.evaluate_generated``: feature batches, KID subsets, Chamfer points,
geometry-consistency thresholds). Its defaults are those ``gina3d eval gen`` has always
used.

``gina3d eval gen`` builds its flags from the fields (``cli/dataclass_flags.py``): the
field order is the order of ``--help``, a field's docstring is its help, a ``flag`` in a
field's metadata names a flag that differs from the field, ``choices`` lists the values a
flag takes. The fields after ``device`` have no flag (``cli/eval.py`` skips them:
library use).

Reports keep the two blocks they have always had: ``protocol.settings`` (``run_settings``)
and ``protocol.config`` (``metric_config``), with the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gina3d.errors import Gina3dError

NETWORKS = ("default", "random-test")
REFERENCES = ("auto", "meshes", "lidar")

# the keys of gen.json's protocol.settings and protocol.config, in their order
RUN_SETTING_KEYS = (
    "n",
    "seed",
    "resolution",
    "mesh_resolution",
    "points_per_shape",
    "steps",
    "temperature",
    "guidance",
    "reference",
    "min_lidar_points",
    "max_real",
    "kid_subsets",
    "batch_size",
    "device",
)
METRIC_CONFIG_KEYS = (
    "background",
    "kid_subsets",
    "kid_subset_size",
    "points_per_shape",
    "normalisation",
    "consistency_resolution",
    "consistency_elevation_deg",
    "opacity_threshold",
    "occlusion_tolerance",
    "consistency_threshold",
    "batch_size",
    "device",
)


@dataclass
class GenEvalConfig:
    """Settings of ``gina3d eval gen`` (``evaluate_gen_run``) and of ``evaluate_generated``;
    all of them are written into the protocol."""

    n: int = 64
    """Generated assets."""
    seed: int = 0
    """Seed of everything: patch draws, asset samples, real subset, references, metrics."""
    resolution: int = 64
    """Render size in pixels of the generated images and of the geometry-consistency
    views."""
    mesh_resolution: int = 64
    """Marching-cubes grid nodes per box axis for the generated meshes."""
    points_per_shape: int = field(default=1024, metadata={"flag": "--points"})
    """Surface or LiDAR points per shape for the Chamfer distances."""
    network: str = field(default="default", metadata={"choices": NETWORKS})
    """FID features: default = the FID Inception-v3 (refuses to run when it is missing);
    random-test = a random network FOR TESTS ONLY (labelled in gen.json)."""
    reference: str = field(default="auto", metadata={"choices": REFERENCES})
    """Reference shapes: meshes (DATASET/meshes), lidar, or auto (meshes when
    DATASET/meshes exists, else lidar)."""
    max_real: int = 1024
    """At most this many real patches (a seeded subset) for the image metrics."""
    steps: int = 12
    """MaskGIT sampling steps."""
    temperature: float = 1.0
    """MaskGIT sampling temperature."""
    guidance: float = 2.0
    """Classifier-free guidance scale (1 = no guidance)."""
    batch_size: int = 8
    """Images per feature-network batch."""
    device: str = "cpu"
    """Torch device of sampling, rendering, features and Chamfer distances."""
    min_lidar_points: int = 64
    """LiDAR references: objects with fewer aggregated points are left out."""
    kid_subsets: int = 100
    """Random subsets KID averages over."""
    kid_subset_size: int = 1000
    """Images per KID subset (capped by the smaller set)."""
    background: float = 1.0
    """Constant colour composited outside the masks, on both sides (1 = white)."""
    normalisation: str = "unit_box"
    """Shape normalisation before Chamfer: unit_box (longest box side 1) or metres."""
    consistency_elevation_deg: float = 15.0
    """Elevation of the default consistency cameras (8 azimuths, 45 degrees apart)."""
    opacity_threshold: float = 0.5
    """Geometry consistency: pixels above this opacity are object pixels."""
    occlusion_tolerance: float = 0.05
    """Geometry consistency: a point farther than (1 + this) x the depth rendered at the
    other view is hidden there and skipped."""
    consistency_threshold: float = 0.01
    """Geometry consistency: relative depth error below which a point is consistent."""

    def validate(self) -> None:
        """One-line errors (naming the ``eval gen`` flag) for settings a run cannot use."""
        if self.n < 2:
            raise Gina3dError(f"--n must be at least 2 (FID needs two samples), got {self.n}")
        if self.resolution < 8:
            raise Gina3dError(f"--resolution must be at least 8 pixels, got {self.resolution}")
        if self.mesh_resolution < 8:
            raise Gina3dError(f"--mesh-resolution must be at least 8, got {self.mesh_resolution}")
        if self.points_per_shape < 16:
            raise Gina3dError(f"--points must be at least 16, got {self.points_per_shape}")
        if self.steps < 1 or self.temperature < 0:
            raise Gina3dError("--steps must be >= 1 and --temperature >= 0")
        if self.reference not in REFERENCES:
            raise Gina3dError(f"--reference must be one of {', '.join(REFERENCES)}")
        if self.max_real < 2:
            raise Gina3dError(f"--max-real must be at least 2, got {self.max_real}")
        if self.batch_size < 1:
            raise Gina3dError(f"--batch-size must be at least 1, got {self.batch_size}")

    def run_settings(self) -> dict:
        """gen.json's ``protocol.settings``: the run side, under its saved keys."""
        return {k: getattr(self, k) for k in RUN_SETTING_KEYS}

    def metric_config(self) -> dict:
        """``evaluate_generated``'s ``protocol.config``: the metric side, under its saved
        keys (``consistency_resolution`` is ``resolution``)."""
        values = {k: getattr(self, k) for k in METRIC_CONFIG_KEYS if k != "consistency_resolution"}
        values["consistency_resolution"] = self.resolution
        return {k: values[k] for k in METRIC_CONFIG_KEYS}
