"""The object-asset ray codec (WOD ``pca_codec``), in numpy: decode, and a reference encode.

``ObjectAssetRayCompressedComponent`` stores a patch's rays, origin and direction
concatenated to [H,W,6], as: ``reference`` [6] (the per-channel mean), ``quantized_values``
(int32, [num_tiles, n_components] row-major) and ``shape`` [H,W,6]. The folder's
``codec_config.json`` holds the PCA (``mean``, ``std`` [D], ``eigen_vectors``
[n_components, D]), ``quantization`` [n_components] and ``tile_size`` T, with D = T*T*6.

Decoding: coefficients = quantization * values; tiles = coefficients @ eigen_vectors * std
+ mean (float64, then float32); tiles [ny*nx, T*T*6] are put back row by row of tiles,
cropped to [H,W], and the reference is added. Encoding (used to write test and benchmark
files) mirrors it: subtract the mean, REFLECT-pad to whole tiles, standardise, project,
round(clip(x) / quantization).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gina3d.errors import Gina3dError

_INT32 = np.iinfo(np.int32)


@dataclass(frozen=True)
class RayCodec:
    """A parsed ``codec_config.json``."""

    mean: np.ndarray  # [D] float64
    std: np.ndarray  # [D]
    eigen_vectors: np.ndarray  # [n_components, D]
    eigen_values: np.ndarray  # [n_components]
    quantization: np.ndarray  # [n_components]
    tile_size: int

    @property
    def n_components(self) -> int:
        return int(self.quantization.shape[0])

    @staticmethod
    def from_dict(d: dict) -> RayCodec:
        pca = d["pca"]
        codec = RayCodec(
            mean=np.asarray(pca["mean"], np.float64),
            std=np.asarray(pca["std"], np.float64),
            eigen_vectors=np.asarray(pca["eigen_vectors"], np.float64),
            eigen_values=np.asarray(pca.get("eigen_values", []), np.float64),
            quantization=np.asarray(d["quantization"], np.float64),
            tile_size=int(d["tile_size"]),
        )
        dims = codec.tile_size**2 * 6
        shapes = (codec.mean.shape, codec.std.shape, codec.eigen_vectors.shape)
        if shapes != ((dims,), (dims,), (codec.n_components, dims)):
            raise ValueError(
                f"PCA shapes {shapes} do not fit tile_size {codec.tile_size} "
                f"and {codec.n_components} components"
            )
        return codec

    @staticmethod
    def load(path: Path) -> RayCodec:
        try:
            return RayCodec.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise Gina3dError(f"{path}: not a usable ray codec config ({e})") from None

    def to_dict(self) -> dict:
        return {
            "pca": {
                "mean": self.mean.tolist(),
                "std": self.std.tolist(),
                "eigen_vectors": self.eigen_vectors.tolist(),
                "eigen_values": self.eigen_values.tolist(),
            },
            "quantization": self.quantization.tolist(),
            "tile_size": self.tile_size,
        }

    def decode(
        self, reference: np.ndarray, quantized: np.ndarray, shape
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ray origins and directions [H,W,3] float32 from one compressed row."""
        height, width = int(shape[0]), int(shape[1])
        t = self.tile_size
        ny, nx = math.ceil(height / t), math.ceil(width / t)
        values = np.asarray(quantized, np.float64).reshape(-1, self.n_components)
        if values.shape[0] != ny * nx:
            raise ValueError(f"{values.shape[0]} tiles for a {height}x{width} patch (T={t})")
        tiles = ((values * self.quantization) @ self.eigen_vectors) * self.std + self.mean
        tiles = tiles.astype(np.float32).reshape(ny, nx, t, t, 6)
        grid = tiles.transpose(0, 2, 1, 3, 4).reshape(ny * t, nx * t, 6)[:height, :width]
        rays = grid + np.asarray(reference, np.float32)[None, None, :]
        return rays[..., :3], rays[..., 3:]

    def encode(self, origins: np.ndarray, directions: np.ndarray) -> tuple[list, list, list]:
        """(reference [6], quantized values, shape [H,W,6]) of rays [H,W,3] each."""
        data = np.concatenate([origins, directions], axis=-1).astype(np.float32)
        tiles, reference = extract_tiles(data, self.tile_size)
        coeffs = ((tiles.astype(np.float64) - self.mean) / self.std) @ self.eigen_vectors.T
        lo, hi = _INT32.min * self.quantization, _INT32.max * self.quantization
        quantized = np.round(np.clip(coeffs, lo, hi) / self.quantization).astype(np.int32)
        return reference.tolist(), quantized.ravel().tolist(), list(data.shape)


def extract_tiles(data: np.ndarray, tile_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean-free tiles [num_tiles, T*T*C] of data [H,W,C] (REFLECT padding) and the mean [C]."""
    height, width, channels = data.shape
    t = tile_size
    reference = data.mean(axis=(0, 1), dtype=np.float64).astype(np.float32)
    ny, nx = math.ceil(height / t), math.ceil(width / t)
    pad = ((0, ny * t - height), (0, nx * t - width), (0, 0))
    padded = np.pad(data - reference, pad, mode="reflect")
    tiles = padded.reshape(ny, t, nx, t, channels).transpose(0, 2, 1, 3, 4)
    return tiles.reshape(ny * nx, t * t * channels), reference


def fit_codec(samples: list[tuple[np.ndarray, np.ndarray]], tile_size: int, n_components: int):
    """A codec fitted on (origins, directions) patches, as Waymo's ``fit_pca`` does
    (standardise, PCA), with quantization steps fine enough for ~1e-5 m errors."""
    tiles = np.concatenate(
        [extract_tiles(np.concatenate([o, d], -1), tile_size)[0] for o, d in samples]
    ).astype(np.float64)
    mean, std = tiles.mean(0), tiles.std(0)
    std = np.where(std > 0, std, 1.0)
    _, s, vt = np.linalg.svd((tiles - mean) / std, full_matrices=False)
    n = min(n_components, vt.shape[0])
    coeffs = ((tiles - mean) / std) @ vt[:n].T
    quantization = np.maximum(np.abs(coeffs).max(0), 1e-12) / 2**20
    return RayCodec(
        mean, std, vt[:n], (s[:n] ** 2) / max(len(tiles) - 1, 1), quantization, tile_size
    )
