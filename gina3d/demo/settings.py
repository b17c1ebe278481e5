"""What ``gina3d demo`` builds: its sample sets, sizes, presets and time budgets.

``demo_settings(fast=False)`` is the full demo (about 10 minutes on 2 CPU cores);
``demo_settings(fast=True)`` shrinks everything to seconds for tests. The settings are pinned
in ``DIR/.done/settings.json``: a re-run into the same directory must use the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VEHICLE_SIZE = "4.6,1.9,1.6"  # a mid-size car, metres (length, width, height)


@dataclass
class SampleSet:
    """One ``gina3d sample`` call of the demo."""

    name: str
    n: int
    options: list[str] = field(default_factory=list)
    what: str = ""


@dataclass
class DemoSettings:
    """What the demo builds; pinned in DIR/.done/settings.json (a re-run must match)."""

    fast: bool = False
    seed: int = 0
    scenes: int = 8
    frames: int = 12
    resolution: int = 32
    stage1_preset: str = "demo"
    stage1_minutes: float | None = 6.0
    stage1_steps: int | None = None
    stage1_set: list[str] = field(default_factory=list)
    """--set overrides of the stage-1 config."""
    stage2_preset: str = "demo"
    stage2_minutes: float | None = 2.5
    stage2_steps: int | None = None
    sample_sets: list[SampleSet] = field(default_factory=list)
    views: int = 8
    image_size: int = 64
    mesh_resolution: int = 64
    recon_patches: int = 64
    recon_objects: int = 24
    """Objects (tracks) scored on held-out views and against their true meshes."""
    recon_views: str = "90,180,270"
    gen_n: int = 16
    gen_max_real: int = 128
    gen_resolution: int = 32
    gen_mesh_resolution: int = 48
    gen_points: int = 512
    gen_steps: int = 12
    fid_network: str = "default"
    recon_rfid: bool = False
    """Add rfid to the reconstruction metrics (Inception features of 2 x recon_patches
    images; off to keep the demo within its ten minutes)."""
    expected_s: dict[str, float] = field(default_factory=dict)
    """Rough seconds per phase on 2 cores, for the progress bars of untimed phases."""


def demo_settings(fast: bool, fid_network: str = "default") -> DemoSettings:
    """The full demo (about 10 minutes on 2 CPU cores) or the ``--fast`` one."""
    if not fast:
        sets = [
            SampleSet("any", 4, [], "unconditional: no class, size or time given"),
            SampleSet("vehicle", 4, ["--class", "vehicle"], "class vehicle"),
            SampleSet("pedestrian", 4, ["--class", "pedestrian"], "class pedestrian"),
            SampleSet(
                "vehicle-night",
                4,
                ["--class", "vehicle", "--size", VEHICLE_SIZE, "--time", "night"],
                f"class vehicle, size {VEHICLE_SIZE} m, at night",
            ),
            SampleSet(
                "pedestrian-day",
                2,
                ["--class", "pedestrian", "--time", "day"],
                "class pedestrian, by day",
            ),
        ]
        expected = {"synth": 75, "encode": 10, "sample": 40, "eval": 45, "report": 5}
        return DemoSettings(sample_sets=sets, fid_network=fid_network, expected_s=expected)
    sets = [
        SampleSet("any", 1, [], "unconditional"),
        SampleSet(
            "vehicle-night",
            1,
            ["--class", "vehicle", "--size", VEHICLE_SIZE, "--time", "night"],
            "class vehicle, size, night",
        ),
        SampleSet("pedestrian", 1, ["--class", "pedestrian"], "class pedestrian"),
    ]
    return DemoSettings(
        fast=True,
        scenes=4,
        frames=1,
        stage1_preset="tiny",
        stage1_minutes=None,
        stage1_steps=8,
        # start dense: 8 steps of the tiny model must still leave surfaces to mesh and score
        stage1_set=["model.density_bias=1.0"],
        stage2_preset="tiny",
        stage2_minutes=None,
        stage2_steps=6,
        sample_sets=sets,
        views=2,
        image_size=32,
        mesh_resolution=16,
        recon_patches=4,
        recon_objects=2,
        recon_views="90",
        gen_n=4,
        gen_max_real=8,
        gen_resolution=16,
        gen_mesh_resolution=16,
        gen_points=64,
        gen_steps=2,
        fid_network=fid_network,
        expected_s={"synth": 8, "stage1": 4, "encode": 2, "stage2": 4, "sample": 6, "eval": 10},
    )
