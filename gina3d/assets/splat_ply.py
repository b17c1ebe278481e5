"""``splats.ply``: Gaussians in the binary PLY layout that 3D Gaussian Splatting writes.

One ``vertex`` element, binary little-endian, every property a float32, in this order:
``x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2
rot_3``. Normals are 0 (3DGS writes them so); ``f_dc_*`` is the degree-0 SH colour
(colour = 0.5 + C0 f_dc), the ``f_rest_*`` of higher degrees are omitted; ``opacity`` is
a logit, ``scale_*`` are natural logs, ``rot_*`` a unit quaternion (w, x, y, z). Positions
are in the object frame: metres, box centre, x forward, y left, z up.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gina3d.errors import Gina3dError

PROPERTIES = (
    "x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
    "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
)  # fmt: skip
KEYS = ("means", "log_scales", "quats", "logit_opacities", "sh")


def splat_arrays(splats: dict) -> dict[str, np.ndarray]:
    """The five parameter arrays of ``splats`` (tensors or arrays) as float32 numpy, checked."""
    missing = [k for k in KEYS if k not in splats]
    if missing:
        raise Gina3dError(f"splats: missing {', '.join(missing)}")
    out = {}
    for k in KEYS:
        v = splats[k]
        v = v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
        out[k] = v.astype(np.float32)
    n = out["means"].shape[0]
    widths = {"means": 3, "log_scales": 3, "quats": 4, "sh": 3}
    for k, w in widths.items():
        if out[k].shape != (n, w):
            raise Gina3dError(f"splats: {k} must be [{n},{w}], got {list(out[k].shape)}")
    if out["logit_opacities"].shape != (n,):
        raise Gina3dError(f"splats: logit_opacities must be [{n}]")
    if not all(np.all(np.isfinite(v)) for v in out.values()):
        raise Gina3dError("splats: parameters are not all finite")
    return out


def write_splat_ply(splats: dict, path: str | os.PathLike) -> Path:
    """Write ``splats`` (means, log_scales, quats, logit_opacities, sh) to ``path``;
    quaternions are normalised on the way out."""
    a = splat_arrays(splats)
    n = a["means"].shape[0]
    q = a["quats"] / np.maximum(np.linalg.norm(a["quats"], axis=1, keepdims=True), 1e-12)
    table = np.concatenate(
        [
            a["means"],
            np.zeros((n, 3), np.float32),
            a["sh"],
            a["logit_opacities"][:, None],
            a["log_scales"],
            q,
        ],
        axis=1,
    ).astype("<f4")  # [N,17]
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {n}"]
    header += [f"property float {name}" for name in PROPERTIES] + ["end_header"]
    path = Path(path)
    with open(path, "wb") as f:
        f.write(("\n".join(header) + "\n").encode("ascii"))
        f.write(np.ascontiguousarray(table).tobytes())
    return path


def read_splat_ply(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a ``splats.ply`` of exactly the layout above -> the five arrays (float32)."""
    data = Path(path).read_bytes()
    end = data.find(b"end_header\n")
    if not data.startswith(b"ply\n") or end < 0:
        raise Gina3dError(f"{path}: not a PLY file")
    lines = data[:end].decode("ascii").split("\n")
    if "format binary_little_endian 1.0" not in lines:
        raise Gina3dError(f"{path}: not a binary little-endian PLY")
    counts = [ln.split()[2] for ln in lines if ln.startswith("element vertex ")]
    names = tuple(ln.split()[2] for ln in lines if ln.startswith("property float "))
    if len(counts) != 1 or names != PROPERTIES:
        raise Gina3dError(f"{path}: not a degree-0 3DGS splat PLY")
    n = int(counts[0])
    body = data[end + len(b"end_header\n") :]
    if len(body) != n * len(PROPERTIES) * 4:
        raise Gina3dError(f"{path}: {len(body)} bytes of data for {n} splats")
    t = np.frombuffer(body, dtype="<f4").reshape(n, len(PROPERTIES)).astype(np.float32)
    return {
        "means": t[:, 0:3],
        "sh": t[:, 6:9],
        "logit_opacities": t[:, 9],
        "log_scales": t[:, 10:13],
        "quats": t[:, 13:17],
    }
