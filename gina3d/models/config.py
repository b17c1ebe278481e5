"""Stage-1 model configuration: one dataclass for encoder, quantiser, decoder, field, renderer.

The defaults are the "cpu" preset: small enough that stage 1 learns something useful in
about half an hour on two CPU cores. ``tiny_model_config`` is the scale used by tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

FIELD_TYPES = ("density", "sdf")


@dataclass
class ModelConfig:
    """Sizes and switches of the stage-1 encoder-decoder (GINA-3D, Shen et al. 2023)."""

    RETIRED: ClassVar[dict] = {
        "semantic_classes": (0, "removed: no loss ever trained it (docs/experiments/README.md)"),
    }

    image_size: int = 64
    """Side H = W of the input object patch in pixels."""
    patch_size: int = 8
    """ViT patch side in pixels; ``image_size`` must be a multiple of it."""
    width: int = 128
    """Transformer width D of the encoder and decoder."""
    heads: int = 4
    """Attention heads; ``width`` must be a multiple of it."""
    encoder_depth: int = 4
    """Self-attention blocks over the image tokens."""
    use_ray_embedding: bool = True
    """Feed per-pixel object-frame unit ray directions to the encoder as 3 extra channels."""
    geometric_attention: bool = True
    """Bias the cross-attention so each tri-plane query starts by looking at the image patches
    whose rays cross its column of the box (needs ray origins and the box size at encode
    time; see gina3d/models/geometric_attention.py)."""
    plane_tokens: int = 8
    """h = w of each plane's token grid; the token count is T = 3 * h * w."""
    token_split: int = 1
    """The encoder's queries and the decoder's transformer work on a coarser grid of
    (plane_tokens / token_split)^2 cells per plane, each cell holding token_split^2 tokens
    (gina3d/models/token_grid.py): 2 gives 4 times the tokens for about the same compute."""
    pixel_lifting: bool = False
    """Add pixel-aligned image features to every token (gina3d/models/pixel_lifting.py): each
    token's box column gathers the features of the pixels whose rays cross it."""
    lifting_mode: str = "gather"
    """How ``pixel_lifting`` weighs the pixels of a token: "gather" (Gaussian weights on every
    token-pixel ray distance) or "splat" (samples along each pixel ray splatted on the planes;
    cheaper for fine token grids). See gina3d/models/pixel_lifting.py."""
    lifting_features: int = 16
    """Channels of the pixel feature map used by ``pixel_lifting``."""
    cross_depth: int = 2
    """Blocks of (cross-attention to the image, self-attention among tri-plane queries)."""
    codebook_size: int = 512
    """K, the number of discrete codes."""
    code_dim: int = 32
    """C, the dimension of a code (the encoder projects D -> C before quantising)."""
    codebook_l2: bool = True
    """L2-normalise codes and encoder outputs (cosine-similarity lookup, ViT-VQGAN)."""
    codebook_ema: bool = False
    """Update codes by exponential moving averages instead of the codebook loss."""
    ema_decay: float = 0.99
    """Decay of the EMA codebook updates and of the per-code usage counts."""
    commitment: float = 0.25
    """Weight beta of the commitment term ||z - sg(e)||^2 inside the VQ loss."""
    dead_code_threshold: float = 1e-3
    """A code whose EMA share of assignments falls below this is dead (1/K = uniform)."""
    dead_code_restart: bool = True
    """Re-initialise dead codes from the batch's worst-represented encoder outputs."""
    decoder_depth: int = 4
    """Self-attention blocks over the T tokens in the decoder."""
    plane_resolution: int = 32
    """R, the side of each output feature plane: plane_tokens * 2^k for some k >= 0."""
    plane_features: int = 32
    """F, feature channels of each plane."""
    field_hidden: int = 64
    """Hidden width of the MLP from tri-plane features to density and colour."""
    samples_stratified: int = 24
    """Stratified samples per ray inside the box."""
    samples_importance: int = 16
    """Extra samples per ray drawn from the stratified samples' weights (0 = none)."""
    density_bias: float = -2.0
    """Added to the raw density before the activation so training starts mostly empty."""
    density_activation: str = "trunc_exp"
    """"trunc_exp" (exp with a clamped gradient) or "softplus"."""
    field_type: str = "density"
    """What the field MLP predicts besides colour: "density" (a free density, activated by
    ``density_activation`` after ``density_bias``) or "sdf" (a signed distance in
    box-normalised units, turned into density by VolSDF's Laplace CDF of scale
    ``sdf_beta_init``; meshes, LiDAR and compositing then use its zero level set;
    gina3d/models/sdf.py)."""
    sdf_beta_init: float = 0.02
    """"sdf" only: the Laplace scale beta (normalised units; density inside = 1/beta), where
    a learned beta starts."""
    sdf_beta_min: float = 0.002
    """"sdf" only: floor under the learned beta."""
    sdf_learn_beta: bool = False
    """"sdf" only: learn beta (VolSDF) instead of keeping it at ``sdf_beta_init``. Measured
    on single-view patches, a learned beta grows (0.05 -> 0.125 normalised units) and the
    zero level shrinks inside the rendered object (docs/results.md); so fixed by default."""
    sdf_init_radius: float = 0.75
    """"sdf" only: the untrained field is the sphere of this radius in the normalised box
    (an inscribed ellipsoid); the MLP learns the difference."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        positive = (
            "image_size patch_size width heads encoder_depth plane_tokens token_split cross_depth "
            "codebook_size code_dim decoder_depth plane_resolution plane_features "
            "field_hidden samples_stratified lifting_features"
        ).split()
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"ModelConfig.{name} must be a positive integer, got {value!r}")
        value = self.samples_importance
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(
                f"ModelConfig.samples_importance must be an integer >= 0, got {value!r}"
            )
        if self.image_size % self.patch_size:
            raise ValueError(
                f"ModelConfig.image_size ({self.image_size}) must be a multiple of "
                f"patch_size ({self.patch_size})"
            )
        if self.width % self.heads:
            raise ValueError(
                f"ModelConfig.width ({self.width}) must be a multiple of heads ({self.heads})"
            )
        if self.plane_tokens % self.token_split:
            raise ValueError(
                f"ModelConfig.plane_tokens ({self.plane_tokens}) must be a multiple of "
                f"token_split ({self.token_split})"
            )
        grid = self.query_grid
        ratio = self.plane_resolution // grid
        if self.plane_resolution % grid or ratio & (ratio - 1):
            raise ValueError(
                f"ModelConfig.plane_resolution ({self.plane_resolution}) must be plane_tokens / "
                f"token_split ({grid}) times a power of two"
            )
        if self.lifting_mode not in ("gather", "splat"):
            raise ValueError(
                f"ModelConfig.lifting_mode must be 'gather' or 'splat', got {self.lifting_mode!r}"
            )
        if self.pixel_lifting and not self.geometric_attention:
            raise ValueError("ModelConfig.pixel_lifting needs geometric_attention (ray inputs)")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ModelConfig.ema_decay must be in (0, 1), got {self.ema_decay}")
        if self.commitment < 0 or self.dead_code_threshold < 0:
            raise ValueError("ModelConfig.commitment and dead_code_threshold must be >= 0")
        if self.field_type not in FIELD_TYPES:
            raise ValueError(
                f"ModelConfig.field_type must be one of {', '.join(FIELD_TYPES)}, "
                f"got {self.field_type!r}"
            )
        if not 0.0 < self.sdf_beta_min <= self.sdf_beta_init:
            raise ValueError("ModelConfig: need 0 < sdf_beta_min <= sdf_beta_init")
        if not 0.0 < self.sdf_init_radius <= 1.0:
            raise ValueError(
                f"ModelConfig.sdf_init_radius must be in (0, 1], got {self.sdf_init_radius}"
            )
        if self.density_activation not in ("trunc_exp", "softplus"):
            raise ValueError(
                "ModelConfig.density_activation must be 'trunc_exp' or 'softplus', "
                f"got {self.density_activation!r}"
            )

    @property
    def query_grid(self) -> int:
        """Cells per plane side of the encoder queries and decoder transformer."""
        return self.plane_tokens // self.token_split

    @property
    def num_tokens(self) -> int:
        """T = 3 * plane_tokens^2."""
        return 3 * self.plane_tokens**2


def tiny_model_config(image_size: int = 32) -> ModelConfig:
    """A model small enough for unit tests (one training step well under 0.1 s)."""
    return ModelConfig(
        image_size=image_size,
        patch_size=next(p for p in range(max(1, image_size // 4), 0, -1) if image_size % p == 0),
        width=32,
        heads=2,
        encoder_depth=1,
        plane_tokens=4,
        cross_depth=1,
        codebook_size=64,
        code_dim=8,
        decoder_depth=1,
        plane_resolution=16,
        plane_features=8,
        field_hidden=16,
        samples_stratified=8,
        samples_importance=4,
    )
