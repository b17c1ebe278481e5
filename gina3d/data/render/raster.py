"""Headless OpenGL rasteriser (moderngl on EGL) for the synthetic cameras and for
evaluation's ground-truth silhouettes.

One pass renders linear radiance, instance ids, semantic ids and camera-frame depth into
multiple render targets. The projection is built from the OpenCV intrinsics K exactly: GL
window coordinates equal image coordinates (u, v) with pixel centres at integer + 0.5, and
GL's framebuffer row 0 is read back as image row 0 (the top), so no flip is needed anywhere.
Shading: flat face normals (from screen-space derivatives of the surface point, so meshes are
drawn indexed with their shared vertices), Lambert sun with an orthographic shadow map (day
and dusk), hemispherical sky/ground ambient, point lights with distance falloff, a small
specular lobe, emission, and a sky gradient where nothing is hit. Surfaces are two-sided.
Textures: uv (s, t) samples ``texture[t * h, s * w]`` (row 0 of the array at t = 0), times
the vertex colour.

One file of about 450 lines: the GL context, its programs, the shadow pass and the draw
calls share one piece of state (the context and its cached buffers), which is clearer read
in one place than split across files; the shader sources live in ``shaders.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from gina3d.data.render.lighting import Lighting
from gina3d.data.render.shaders import (
    _FLAT_FS,
    _FLAT_VS,
    _FS,
    _SKY_FS,
    _SKY_VS,
    _VS,
)
from gina3d.errors import Gina3dError
from gina3d.geometry.mesh import Mesh

MAX_POINT_LIGHTS = 16
SHADOW_SIZE = 1536
SHADOW_DISTANCE = 60.0  # metres of the view frustum covered by the shadow map


@dataclass
class Draw:
    """One mesh placed in the world: ``instance_id`` 0 means "not an object"."""

    mesh: Mesh
    world_from_mesh: np.ndarray  # [4,4]
    instance_id: int = 0
    semantic_id: int = 0
    lights_on: bool = False


@dataclass
class RenderOutput:
    """rgb [H,W,3] float32 linear radiance; instance [H,W] int32; semantic [H,W] uint8;
    depth [H,W] float32 camera z in metres (inf where nothing was hit). Row 0 = image top."""

    rgb: np.ndarray
    instance: np.ndarray
    semantic: np.ndarray
    depth: np.ndarray


@dataclass
class _GpuMesh:
    mesh: Mesh  # kept so that id(mesh) is not reused while cached
    program: object
    vao: object
    vao_flat: object
    buffers: tuple  # (vertex buffer, index buffer)
    texture: object | None
    corners: np.ndarray  # [8,3] local bounding-box corners
    nbytes: int


def projection_from_K(K: np.ndarray, width: int, height: int, near: float, far: float):
    """GL clip [4,4] from OpenCV camera coordinates, exact for pixel centres at +0.5.

    Window x = u and window y = v (GL row 0 holds image row 0), clip w = camera z, and
    NDC depth -1..1 spans z = near..far.
    """
    fx, s, cx, fy, cy = K[0, 0], K[0, 1], K[0, 2], K[1, 1], K[1, 2]
    return np.array(
        [
            [2 * fx / width, 2 * s / width, 2 * cx / width - 1, 0.0],
            [0.0, 2 * fy / height, 2 * cy / height - 1, 0.0],
            [0.0, 0.0, (far + near) / (far - near), -2 * far * near / (far - near)],
            [0.0, 0.0, 1.0, 0.0],
        ]
    )


def _f4(m: np.ndarray) -> bytes:
    """Column-major float32 bytes of a matrix, as GL expects."""
    return np.ascontiguousarray(m.T, dtype=np.float32).tobytes()


def _vec(x) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(x).ravel())


def _outside(clip_from_world: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """[N] True where a box given by its world corners [N,8,3] is outside one clip plane."""
    c = corners @ clip_from_world[:, :3].T + clip_from_world[:, 3]  # [N,8,4]
    w = c[..., 3]
    out = np.zeros(len(c), dtype=bool)
    for k in range(3):
        out |= np.all(c[..., k] > w, axis=1) | np.all(c[..., k] < -w, axis=1)
    return out


def _fit_sun_shadow(sun, world_from_cam, K, width, height, near, far, corners):
    """Orthographic sun view covering the first ``SHADOW_DISTANCE`` metres of the view.

    Returns (casters [N] bool, light clip from world [4,4], shadow map (s, t, depth) from
    camera-centred world [4,4], normal offset in metres), or None when nothing casts.
    """
    z_l = -np.asarray(sun, dtype=np.float64) / np.linalg.norm(sun)  # the light's view axis
    a = np.array([0.0, 0.0, 1.0]) if abs(z_l[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
    x_l = np.cross(a, z_l) / np.linalg.norm(np.cross(a, z_l))
    light_rot = np.stack([x_l, np.cross(z_l, x_l), z_l])  # light from world rotation
    cam_pos = world_from_cam[:3, 3]
    uv1 = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float)
    rays = uv1 @ np.linalg.inv(K).T  # [4,3] image corners at camera z = 1
    view = np.concatenate([rays * near, rays * min(far, SHADOW_DISTANCE)])  # [8,3] camera
    view = view @ (light_rot @ world_from_cam[:3, :3]).T  # light frame, camera-centred
    lo, hi = view.min(0), view.max(0)
    cl = (corners - cam_pos) @ light_rot.T  # [N,8,3]
    casters = np.all(cl[..., :2].max(1) >= lo[:2], 1) & np.all(cl[..., :2].min(1) <= hi[:2], 1)
    casters &= cl[..., 2].min(1) <= hi[2]
    if not casters.any():
        return None
    lo[2] = min(lo[2], cl[casters][..., 2].min()) - 1.0
    hi[2] += 1.0
    ortho = np.eye(4)
    ortho[:3, :3] = np.diag(2.0 / (hi - lo)) @ light_rot
    ortho[:3, 3] = -(hi + lo) / (hi - lo)
    clip_from_world = ortho.copy()
    clip_from_world[:3, 3] -= ortho[:3, :3] @ cam_pos
    to_texture = np.diag([0.5, 0.5, 0.5, 1.0])
    to_texture[:3, 3] = [0.5, 0.5, 0.5 - 0.03 / (hi[2] - lo[2])]  # 3 cm depth bias
    offset = 1.5 * max(hi[0] - lo[0], hi[1] - lo[1]) / SHADOW_SIZE  # 1.5 texels
    return casters, clip_from_world, to_texture @ ortho, offset


def _current(method):
    """Run a Renderer method with its own GL context current.

    Several renderers may live in one process (the process-wide default and, say, one a test
    or an evaluation made); creating a context makes it current, so without this a renderer
    made earlier would draw into the newest context (measured: empty renders, no patches).
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self._ctx is None and method.__name__ == "clear_cache":
            return method(self, *args, **kwargs)
        with self.ctx:
            return method(self, *args, **kwargs)

    return wrapper


class Renderer:
    """Rasterises lists of ``Draw`` into ``RenderOutput``; create one per process.

    The EGL context is created lazily on first use. Mesh buffers are uploaded once and cached
    by ``id(mesh)`` (meshes are treated as immutable; call ``clear_cache`` between scenes; the
    cache also empties itself past ``max_cache_bytes``); framebuffers are reused per size.
    """

    def __init__(self, max_cache_bytes: int = 256 << 20):
        self._ctx = None
        self._meshes: dict[int, _GpuMesh] = {}
        self._cache_bytes = 0
        self._max_cache_bytes = max_cache_bytes
        self._targets: dict[tuple[int, int, str], tuple] = {}

    @property
    def ctx(self):
        """The moderngl context (created on first access)."""
        if self._ctx is None:
            self._init_gl()
        return self._ctx

    def _init_gl(self) -> None:
        try:
            import moderngl

            ctx = moderngl.create_standalone_context(backend="egl", require=330)
        except Exception as exc:  # any failure of the EGL/GL stack
            reason = " ".join(str(exc).split())
            raise Gina3dError(
                f"cannot create a headless OpenGL context with EGL ({reason}); install the "
                "Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1"
            ) from exc
        self._mgl = moderngl
        self._programs: dict[tuple[bool, bool], object] = {}
        self._sky = ctx.program(vertex_shader=_SKY_VS, fragment_shader=_SKY_FS)
        self._sky_vao = ctx.vertex_array(self._sky, [])
        self._flat = ctx.program(vertex_shader=_FLAT_VS, fragment_shader=_FLAT_FS)
        self._shadow_map = ctx.depth_texture((SHADOW_SIZE, SHADOW_SIZE))
        self._shadow_map.compare_func = "<="  # sampler2DShadow with 2x2 linear PCF
        self._shadow_map.repeat_x = self._shadow_map.repeat_y = False
        self._shadow_fbo = ctx.framebuffer(depth_attachment=self._shadow_map)
        self._ctx = ctx

    def _program(self, flat: bool, textured: bool):
        """The mesh shader program of one variant (compiled on first use)."""
        key = (flat, textured)
        if key not in self._programs:
            head = f"#version 330\n#define INTERP {'flat' if flat else ''}\n"
            head += f"#define TEXTURED {int(textured)}\n"
            prog = self.ctx.program(vertex_shader=head + _VS, fragment_shader=head + _FS)
            prog["u_shadow_map"].value = 0
            if textured:
                prog["u_texture"].value = 1
            self._programs[key] = prog
        return self._programs[key]

    @_current
    def clear_cache(self) -> None:
        """Release every uploaded mesh (GPU buffers and textures)."""
        for g in self._meshes.values():
            for obj in (g.vao, g.vao_flat, *g.buffers, g.texture):
                if obj is not None:
                    obj.release()
        self._meshes.clear()
        self._cache_bytes = 0

    def _upload(self, mesh: Mesh) -> _GpuMesh | None:
        """The cached GPU copy of a mesh (uploaded on first use), None for an empty mesh."""
        g = self._meshes.get(id(mesh))
        if g is not None and g.mesh is mesh:
            return g
        if len(mesh.faces) == 0:
            return None
        ctx = self.ctx
        cols = [mesh.vertices, mesh.colors, mesh.emissive]  # [V,9]: indexed, shared vertices
        texture = None
        if mesh.uvs is not None and mesh.texture is not None:
            cols.append(np.asarray(mesh.uvs, dtype=np.float32).reshape(-1, 2))
            img = np.asarray(mesh.texture, dtype=np.uint8)
            img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
            texture = ctx.texture((img.shape[1], img.shape[0]), 3, np.ascontiguousarray(img))
            texture.build_mipmaps()
            texture.anisotropy = 4.0
        data = np.ascontiguousarray(np.concatenate(cols, axis=1), dtype=np.float32)
        buffer = ctx.buffer(data)
        index = ctx.buffer(np.ascontiguousarray(mesh.faces, dtype=np.int32))
        names = ["in_pos", "in_color", "in_emissive"] + ["in_uv"] * (texture is not None)
        fmt = "3f 3f 3f" + " 2f" * (texture is not None)
        f = mesh.faces
        flat = all(np.array_equal(a[f[:, 0]], a[f[:, k]]) for a in cols[1:3] for k in (1, 2))
        prog = self._program(flat, texture is not None)
        vao = ctx.vertex_array(prog, [(buffer, fmt, *names)], index, 4)
        flat_fmt = f"3f {data.shape[1] * 4 - 12}x"
        vao_flat = ctx.vertex_array(self._flat, [(buffer, flat_fmt, "in_pos")], index, 4)
        lo, hi = mesh.bounds.astype(np.float64)
        corners = np.stack(np.meshgrid(*zip(lo, hi), indexing="ij"), -1).reshape(8, 3)
        nbytes = data.nbytes + mesh.faces.nbytes + (0 if texture is None else img.nbytes * 2)
        g = _GpuMesh(mesh, prog, vao, vao_flat, (buffer, index), texture, corners, nbytes)
        self._meshes[id(mesh)] = g
        self._cache_bytes += nbytes
        return g

    def _prepare(self, draws: list[Draw]) -> tuple[list, list, np.ndarray, np.ndarray]:
        """Upload meshes; return kept draws, their GPU meshes, poses [N,4,4], corners [N,8,3]."""
        if self._cache_bytes > self._max_cache_bytes:
            self.clear_cache()
        pairs = [(d, self._upload(d.mesh)) for d in draws]
        pairs = [(d, g) for d, g in pairs if g is not None]
        kept, gpus = [d for d, _ in pairs], [g for _, g in pairs]
        poses = np.array([d.world_from_mesh for d in kept], dtype=np.float64).reshape(-1, 4, 4)
        local = np.array([g.corners for g in gpus]).reshape(-1, 8, 3)
        corners = np.einsum("nij,nkj->nki", poses[:, :3, :3], local) + poses[:, None, :3, 3]
        return kept, gpus, poses, corners

    def _target(self, width: int, height: int, kind: str) -> tuple:
        """Cached framebuffers of one size: "main" (fbo, z-buffer-only fbo, ...) or "mask"."""
        key = (width, height, kind)
        if key not in self._targets:
            if len(self._targets) >= 6:  # drop the oldest
                for obj in self._targets.pop(next(iter(self._targets))):
                    obj.release()
            ctx, size = self.ctx, (width, height)
            if kind == "main":  # colour, camera z, instance, semantic; z-buffer
                targets = [
                    ctx.texture(size, 4, dtype="f4"),
                    ctx.texture(size, 1, dtype="f4"),
                    ctx.texture(size, 1, dtype="i4"),
                    ctx.texture(size, 1, dtype="u1"),
                ]
                zbuffer = ctx.depth_renderbuffer(size)
                fbo = ctx.framebuffer(targets, zbuffer)
                self._targets[key] = (fbo, ctx.framebuffer([], zbuffer), *targets, zbuffer)
            else:
                mask = ctx.texture(size, 1, dtype="f1")
                self._targets[key] = (ctx.framebuffer([mask]), mask)
        return self._targets[key]

    @staticmethod
    def _frame_uniforms(lighting: Lighting, cam_from_world, world_from_cam, K, shadow) -> dict:
        """Per-frame uniform values of the mesh programs: camera, sun, ambient, shadow map and
        the ``MAX_POINT_LIGHTS`` point lights nearest to the camera (camera-centred world)."""
        cam_pos = world_from_cam[:3, 3]
        sun = np.asarray(lighting.sun_direction, dtype=np.float64)
        lp = np.asarray(lighting.light_positions, dtype=np.float64).reshape(-1, 3) - cam_pos
        lc = np.asarray(lighting.light_colors, dtype=np.float64).reshape(-1, 3)
        ahead = lp @ cam_from_world[2, :3] > -lighting.light_range  # not far behind
        order = [i for i in np.argsort(np.linalg.norm(lp, axis=1)) if ahead[i]]
        order = order[:MAX_POINT_LIGHTS]
        pos = np.zeros((MAX_POINT_LIGHTS, 3), dtype=np.float32)
        col = np.zeros((MAX_POINT_LIGHTS, 3), dtype=np.float32)
        pos[: len(order)], col[: len(order)] = lp[order], lc[order]
        u = {
            "u_dir_from_pixel": _f4(world_from_cam[:3, :3] @ np.linalg.inv(K)),
            "u_sun_dir": _vec(sun / np.linalg.norm(sun)),
            "u_sun_color": _vec(lighting.sun_color),
            "u_sky": _vec(lighting.sky_color),
            "u_ground": _vec(lighting.ground_color),
            "u_light_pos": pos.tobytes(),
            "u_light_color": col.tobytes(),
            "u_num_lights": len(order),
            "u_light_range": float(lighting.light_range),
            "u_use_shadow": int(shadow is not None),
        }
        if shadow is not None:
            u["u_shadow_from_world"] = _f4(shadow[2])
            u["u_shadow_offset"] = float(shadow[3])
        return u

    @_current
    def render(
        self,
        draws: list[Draw],
        K: np.ndarray,
        cam_from_world: np.ndarray,
        width: int,
        height: int,
        lighting: Lighting,
        near: float = 0.3,
        far: float = 300.0,
    ) -> RenderOutput:
        """Render draws seen by a pinhole camera (K [3,3], OpenCV ``cam_from_world`` [4,4])."""
        ctx, mgl = self.ctx, self._mgl
        K = np.asarray(K, dtype=np.float64)
        cam_from_world = np.asarray(cam_from_world, dtype=np.float64)
        world_from_cam = np.linalg.inv(cam_from_world)
        cam_pos = world_from_cam[:3, 3]
        clip_from_world = projection_from_K(K, width, height, near, far) @ cam_from_world
        kept, gpus, poses, corners = self._prepare(draws)
        ctx.enable(mgl.DEPTH_TEST)
        ctx.disable(mgl.CULL_FACE | mgl.BLEND)
        ctx.depth_func = "<"
        sun = np.asarray(lighting.sun_direction, dtype=np.float64)
        shadow = None
        if lighting.shadows and max(lighting.sun_color) > 0 and sun[2] > 0.01 and kept:
            shadow = _fit_sun_shadow(sun, world_from_cam, K, width, height, near, far, corners)
        if shadow is not None:  # depth-only pass from the sun
            self._shadow_fbo.use()
            self._shadow_fbo.clear(depth=1.0)
            for i in np.flatnonzero(shadow[0]):
                self._flat["u_mvp"].write(_f4(shadow[1] @ poses[i]))
                gpus[i].vao_flat.render()
        frame = self._frame_uniforms(lighting, cam_from_world, world_from_cam, K, shadow)
        for prog in {id(g.program): g.program for g in gpus}.values():
            for name, value in frame.items():
                if isinstance(value, bytes):
                    prog[name].write(value)
                else:
                    prog[name].value = value

        fbo, zbuffer_fbo = self._target(width, height, "main")[:2]
        visible = np.flatnonzero(~_outside(clip_from_world, corners))
        # Near and small first, large backdrops (ground, buildings) last: early depth rejection.
        centre = corners[visible].mean(1)
        radius = np.linalg.norm(corners[visible, 0] - centre, axis=1)
        order = visible[np.argsort(np.linalg.norm(centre - cam_pos, axis=1) + radius)]
        mvps = [_f4(clip_from_world @ poses[i]) for i in order]
        zbuffer_fbo.use()  # depth pre-pass: each pixel is then shaded once
        zbuffer_fbo.clear(depth=1.0)  # every colour target is written by geometry or sky
        for i, mvp in zip(order, mvps):
            self._flat["u_mvp"].write(mvp)
            gpus[i].vao_flat.render()
        fbo.use()
        ctx.depth_func = "<="
        ctx.depth_mask = False
        self._shadow_map.use(location=0)
        for i, mvp in zip(order, mvps):
            d, g = kept[i], gpus[i]
            g.program["u_mvp"].write(mvp)
            g.program["u_ids"].value = (int(d.instance_id), int(d.semantic_id))
            g.program["u_emissive"].value = lighting.emissive_gain * bool(d.lights_on)
            if g.texture is not None:
                g.texture.use(location=1)
            g.vao.render()

        sky = self._sky  # the sky where the z-buffer is still clear
        sky["u_dir_from_pixel"].write(_f4(world_from_cam[:3, :3] @ np.linalg.inv(K)))
        sky["u_zenith"].value = _vec(lighting.sky_zenith)
        sky["u_horizon"].value = _vec(lighting.sky_horizon)
        sky["u_ground"].value = _vec(lighting.ground_color)
        sky["u_sun_dir"].value = _vec(sun / np.linalg.norm(sun))
        sky["u_sun_color"].value = _vec(lighting.sun_color)
        self._sky_vao.render(mgl.TRIANGLES, vertices=3)
        ctx.depth_mask = True
        ctx.depth_func = "<"

        out = RenderOutput(
            rgb=np.empty((height, width, 3), np.float32),
            instance=np.empty((height, width), np.int32),
            semantic=np.empty((height, width), np.uint8),
            depth=np.empty((height, width), np.float32),
        )
        fbo.read_into(out.rgb, components=3, attachment=0, dtype="f4")
        fbo.read_into(out.depth, components=1, attachment=1, dtype="f4")
        fbo.read_into(out.instance, components=1, attachment=2, dtype="i4")
        fbo.read_into(out.semantic, components=1, attachment=3, dtype="u1")
        return out

    @_current
    def render_mask(
        self, draws: list[Draw], K: np.ndarray, cam_from_world: np.ndarray, width: int, height: int
    ) -> np.ndarray:
        """bool [H,W] coverage of just these draws (amodal: nothing else occludes them)."""
        ctx, mgl = self.ctx, self._mgl
        clip_from_world = projection_from_K(np.asarray(K, float), width, height, 0.05, 1e4)
        clip_from_world = clip_from_world @ np.asarray(cam_from_world, dtype=np.float64)
        _, gpus, poses, corners = self._prepare(draws)
        fbo = self._target(width, height, "mask")[0]
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0)
        ctx.disable(mgl.DEPTH_TEST | mgl.CULL_FACE | mgl.BLEND)
        for i in np.flatnonzero(~_outside(clip_from_world, corners)):
            self._flat["u_mvp"].write(_f4(clip_from_world @ poses[i]))
            gpus[i].vao_flat.render()
        mask = np.empty((height, width), np.uint8)
        fbo.read_into(mask, components=1, dtype="f1")
        return mask > 0


_DEFAULT: Renderer | None = None


def default_renderer() -> Renderer:
    """The process-wide ``Renderer`` (created on first call)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Renderer()
    return _DEFAULT
