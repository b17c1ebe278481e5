"""The object-asset release of one segment -> patch records, streamed in row batches.

Per category (``veh``, ``ped``): camera_sensor ⋈ ray (or ray_compressed + codec) ⋈
auto_label is an inner join on the four ObjectAssetKey columns, as ``v2.merge`` does;
lidar_sensor, refined_pose (vehicles), lidar_box and stats are optional partners (left
joins on their shared keys). Every missing folder, file or column and every unmatched row
goes to the segment report with its count. Payloads are read batch by batch in file order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from gina3d.data.filters import FilterCounts
from gina3d.data.schema import PatchRecord
from gina3d.data.sources.waymo.asset_record import AssetConfig, AssetRow, make_record
from gina3d.data.sources.waymo.asset_tables import (
    PRIOR_SIZE,
    extents_from_points,
    read_boxes,
    read_image_sizes,
    read_time_of_day,
)
from gina3d.data.sources.waymo.codec import RayCodec
from gina3d.data.sources.waymo.columns import (
    CAMERA,
    CAMERA_NAMES,
    LASER_OBJECT,
    TIMESTAMP,
    col,
    decode_image,
    scalar,
    tensor,
    transform,
)
from gina3d.data.sources.waymo.layout import (
    CATEGORIES,
    CODEC_CONFIG,
    Layout,
    asset_folder,
    file_columns,
)
from gina3d.data.sources.waymo.merge import ROW, JoinCounts, left_join, merge, read_keys
from gina3d.data.sources.waymo.stream import RowStream, cell

CS = "ObjectAssetCameraSensorComponent"
RAY = "ObjectAssetRayComponent"
RAYC = "ObjectAssetRayCompressedComponent"
AL = "ObjectAssetAutoLabelComponent"
LS = "ObjectAssetLiDARSensorComponent"
RP = "ObjectAssetRefinedPoseComponent"
REGION = [col(CS, f"camera_region.{p}.{a}") for p in ("center", "size") for a in "xy"]
REQUIRED = {
    "camera_sensor": [*REGION, col(CS, "rgb_image")],
    "ray": [col(RAY, f"ray_{n}.{p}") for n in ("origin", "direction") for p in ("values", "shape")],
    "ray_compressed": [col(RAYC, n) for n in ("reference", "quantized_values", "shape")],
    "auto_label": [col(AL, "object_mask")],
    "lidar_sensor": [col(LS, "points_xyz.values"), col(LS, "points_xyz.shape")],
    "refined_pose": [col(RP, "box_from_vehicle.transform")],
}
OPTIONAL = {
    "camera_sensor": [col(CS, f"proj_points_dist.{p}") for p in ("values", "shape")]
    + [col(CS, "proj_points_mask")],
    "auto_label": [col(AL, "instance_mask"), col(AL, "semantic_mask")],
}


def _columns(layout: Layout, cat: str, part: str, segment: str, rep: dict):
    """(path, columns to read) of a component file, or None (reported) when unusable."""
    folder = asset_folder(cat, part)
    path = layout.file(folder, segment)
    if path is None:
        if layout.has(folder):
            rep["missing_files"].append(folder)
        return None
    have = set(file_columns(path))
    missing = [c for c in REQUIRED[part] if c not in have]
    absent_optional = [c for c in OPTIONAL.get(part, []) if c not in have]
    if missing or absent_optional:
        rep["missing_columns"][folder] = missing + absent_optional
    if missing:
        return None
    return path, REQUIRED[part] + [c for c in OPTIONAL.get(part, []) if c in have]


def convert_asset_segment(
    layout: Layout, segment: str, cfg: AssetConfig, report: dict, filters: FilterCounts
) -> Iterator[PatchRecord]:
    """Records of every category of a segment; fills ``report`` and ``filters``."""
    shared: dict = {"missing_columns": {}}
    boxes = read_boxes(layout.file("lidar_box", segment), shared)
    tod = read_time_of_day(layout.file("stats", segment), shared)
    sizes = read_image_sizes(layout.file("camera_calibration", segment), shared)
    timestamps: set[int] = set()
    for cat in CATEGORIES:
        path = layout.file(asset_folder(cat, "camera_sensor"), segment)
        if path is not None:
            timestamps.update(read_keys(path, "camera_sensor")[TIMESTAMP].to_pylist())
    frame_of = {ts: i for i, ts in enumerate(sorted(timestamps))}
    report.update(segment=segment, tables=shared, categories={})
    for cat, cls in CATEGORIES.items():
        rep: dict = {"missing_files": [], "missing_columns": {}, "skipped": Counter()}
        report["categories"][cat] = rep
        ctx = (boxes, tod, sizes, frame_of)
        yield from _category(layout, segment, cat, cls, cfg, rep, filters, ctx)
        rep["skipped"] = dict(rep["skipped"])
        fits = rep.pop("fit_rms_px", [])
        if fits:
            rep["camera_fit_rms_px"] = {"mean": float(np.mean(fits)), "max": float(np.max(fits))}


def _category(layout, segment, cat, cls, cfg, rep, filters, ctx) -> Iterator[PatchRecord]:
    boxes, tod, sizes, frame_of = ctx
    parts = {"camera_sensor": _columns(layout, cat, "camera_sensor", segment, rep)}
    if parts["camera_sensor"] is None:
        return
    for part in ("ray", "auto_label", "lidar_sensor", "refined_pose"):
        if part != "refined_pose" or cat == "veh":
            parts[part] = _columns(layout, cat, part, segment, rep)
    codec = None
    if parts["ray"] is None:
        parts["ray_compressed"] = _columns(layout, cat, "ray_compressed", segment, rep)
        config = layout.root / asset_folder(cat, "ray_compressed") / CODEC_CONFIG
        if parts["ray_compressed"] is not None and config.exists():
            codec = RayCodec.load(config)
        elif parts["ray_compressed"] is not None:
            rep["missing_files"].append(f"{asset_folder(cat, 'ray_compressed')}/{CODEC_CONFIG}")
    ray_part = "ray" if parts["ray"] is not None else "ray_compressed" if codec else None
    counts = JoinCounts()
    keys = read_keys(parts["camera_sensor"][0], "camera_sensor", counts)
    if ray_part is None or parts["auto_label"] is None:
        rep["skipped"]["no_rays" if ray_part is None else "no_auto_label"] += keys.num_rows
        rep["join"] = counts.to_dict()
        return
    rep["rays_from"] = ray_part
    keys = merge(keys, read_keys(parts[ray_part][0], ray_part, counts), counts)
    keys = merge(keys, read_keys(parts["auto_label"][0], "auto_label", counts), counts)
    for part in ("lidar_sensor", "refined_pose") if cat == "veh" else ("lidar_sensor",):
        if parts.get(part) is not None:
            keys = left_join(keys, read_keys(parts[part][0], part, counts), counts)
    rep["join"] = counts.to_dict()

    ids = list(zip(*(keys[k].to_pylist() for k in (TIMESTAMP, LASER_OBJECT, CAMERA))))
    seen, unique = set(), []
    for i, key in enumerate(ids):
        if key in seen:
            rep["skipped"]["duplicate_key"] += 1
        else:
            seen.add(key)
            unique.append(i)
    streams, rows_of = {}, {}
    for part in ("camera_sensor", ray_part, "auto_label", "lidar_sensor", "refined_pose"):
        if ROW + part in keys.schema.names:
            rows_of[part] = rows = keys[ROW + part].to_pylist()
            wanted = [rows[i] for i in unique if rows[i] is not None]
            streams[part] = RowStream(parts[part][0], parts[part][1], wanted, cfg.batch_rows)
    unboxed = any((ts, obj) not in boxes for ts, obj, _ in ids)
    extents = _point_extents(parts, keys, cfg) if unboxed else {}
    size_from = Counter()
    for i in unique:
        ts, obj, cam = ids[i]
        fetched = {}
        for part, stream in streams.items():
            r = rows_of[part][i]
            fetched[part] = None if r is None else stream.get(r)
        try:
            row = _decode(fetched, ray_part, codec, segment, cls, frame_of[ts], ts, obj, cam)
        except (ValueError, OSError, KeyError) as e:
            rep["skipped"]["decode_error"] += 1
            rep.setdefault("first_decode_error", f"{ts}/{obj}/{cam}: {str(e).splitlines()[0]}")
            continue
        row.time_of_day = tod.get(ts, "day")
        row.image_size = sizes.get(cam, (1280, 1920))
        if (ts, obj) in boxes:
            row.vehicle_from_box, row.box_size = boxes[(ts, obj)]
            size_from["lidar_box"] += 1
        elif obj in extents and (extents[obj] > 0.05).all():
            row.box_size = extents[obj]
            size_from["lidar_points"] += 1
        else:
            size_from["class_prior"] += 1
        rec = make_record(row, cfg, filters, rep)
        if rec is not None:
            yield rec
    rep["box_size_from"] = dict(size_from)
    rep["stream_max_buffered_rows"] = {p: s.max_buffered for p, s in streams.items()}
    rep["time_of_day_from_stats"] = bool(tod)
    for s in streams.values():
        s.close()


def _point_extents(parts: dict, keys: pa.Table, cfg: AssetConfig) -> dict:
    """laser_object_id -> box size from its LiDAR points over the segment (no lidar_box)."""
    if parts.get("lidar_sensor") is None or ROW + "lidar_sensor" not in keys.schema.names:
        return {}
    rows = keys[ROW + "lidar_sensor"].to_pylist()
    objs = keys[LASER_OBJECT].to_pylist()
    owner = {r: o for r, o in zip(rows, objs) if r is not None}
    stream = RowStream(parts["lidar_sensor"][0], parts["lidar_sensor"][1], owner, cfg.batch_rows)
    half: dict[str, np.ndarray] = {}
    for r in sorted(owner):
        batch, j = stream.get(r)
        values, shape = (cell(batch, n) for n in REQUIRED["lidar_sensor"])
        pts = tensor(values, shape, j)
        if pts is not None and len(pts):
            ext = extents_from_points(pts.reshape(-1, 3)) / 2
            half[owner[r]] = np.maximum(half.get(owner[r], ext), ext)
    stream.close()
    return {o: 2 * h for o, h in half.items()}


def _decode(fetched, ray_part, codec, segment, cls, frame_index, ts, obj, cam) -> AssetRow:
    batch, j = fetched["camera_sensor"]
    rgb = decode_image(cell(batch, col(CS, "rgb_image"))[j].as_py())
    if rgb is None:
        raise ValueError("rgb_image is null")
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, -1)
    region = np.array([scalar(cell(batch, c), j, np.nan) for c in REGION], dtype=np.float64)
    height, width = rgb.shape[:2]
    if not np.isfinite(region).all() or (region[2:] <= 0).any():
        region = np.array([width / 2, height / 2, width, height], dtype=np.float64)
    dist = None
    dv, ds = cell(batch, OPTIONAL["camera_sensor"][0]), cell(batch, OPTIONAL["camera_sensor"][1])
    if dv is not None and ds is not None:
        dist = tensor(dv, ds, j)
        pm = cell(batch, OPTIONAL["camera_sensor"][2])
        mask = None if pm is None else decode_image(pm[j].as_py())
        if dist is not None and mask is not None:
            dist = np.where(mask > 0, dist, 0.0).astype(np.float32)

    batch, j = fetched[ray_part]
    if ray_part == "ray":
        names = REQUIRED["ray"]
        origins = tensor(cell(batch, names[0]), cell(batch, names[1]), j)
        directions = tensor(cell(batch, names[2]), cell(batch, names[3]), j)
    else:
        ref, qv, shape = (cell(batch, n)[j].as_py() for n in REQUIRED["ray_compressed"])
        if ref is None or qv is None or shape is None:
            raise ValueError("compressed ray is null")
        origins, directions = codec.decode(np.asarray(ref), np.asarray(qv), shape)
    if origins is None or directions is None:
        raise ValueError("rays are null")

    batch, j = fetched["auto_label"]
    object_mask = decode_image(cell(batch, col(AL, "object_mask"))[j].as_py())
    if object_mask is None:
        raise ValueError("object_mask is null")
    im, sm = cell(batch, col(AL, "instance_mask")), cell(batch, col(AL, "semantic_mask"))
    instance = None if im is None else decode_image(im[j].as_py(), np.uint16)
    semantic = None if sm is None else decode_image(sm[j].as_py(), np.uint8)

    points = np.zeros((0, 3), dtype=np.float32)
    if fetched.get("lidar_sensor") is not None:
        batch, j = fetched["lidar_sensor"]
        names = REQUIRED["lidar_sensor"]
        pts = tensor(cell(batch, names[0]), cell(batch, names[1]), j)
        points = points if pts is None else pts.reshape(-1, 3)
    refined = None
    if fetched.get("refined_pose") is not None:
        batch, j = fetched["refined_pose"]
        refined = transform(cell(batch, REQUIRED["refined_pose"][0]), j)

    arrays = {"ray_origin": origins, "ray_direction": directions, "object_mask": object_mask}
    arrays.update(instance_mask=instance, semantic_mask=semantic, proj_points_dist=dist)
    for name, arr in arrays.items():
        if arr is not None and arr.shape[:2] != (height, width):
            raise ValueError(f"{name} shape {arr.shape[:2]} differs from rgb {(height, width)}")
    camera = CAMERA_NAMES.get(cam, str(cam))
    return AssetRow(
        patch_id=f"{segment}/{frame_index:03d}/{camera}/{obj}",
        segment=segment,
        frame_index=frame_index,
        camera=camera,
        object_id=obj,
        cls=cls,
        time_of_day="day",
        rgb=rgb.astype(np.uint8),
        object_mask=object_mask > 0,
        origins=origins,
        directions=directions,
        dist=dist,
        instance=instance,
        semantic=semantic,
        points=points,
        box_size=PRIOR_SIZE[cls].copy(),
        vehicle_from_box=None,
        box_from_vehicle_refined=refined,
        region=region,
        image_size=(1280, 1920),
    )
