"""Arrow schemas of the WOD v2 components that the tests write, as published.

Types follow ``Component.schema()`` of waymo-open-dataset 1.6.7 (see
shared/reference/waymo_v2_object_assets.md): key columns first, in key-class order, then
``[Component].field`` columns in dataclass order. ``old=True`` gives the older layout of
Waymo's own test data: ``key.camera_name`` as a string, float32 transforms, and (the
ARROW:schema footer is not written either) plain lists instead of fixed-size lists.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

S, TS, OBJ = "key.segment_context_name", "key.frame_timestamp_micros", "key.laser_object_id"
CAM, LASER = "key.camera_name", "key.laser_name"

KEYS = {
    "asset": [S, TS, OBJ, CAM],  # ObjectAssetKey: laser_object_id before camera_name
    "label": [S, TS, OBJ],  # LaserLabelKey
    "projected": [S, TS, CAM, OBJ],  # ProjectedLaserLabelKey
    "camera": [S, TS, CAM],
    "laser": [S, TS, LASER],
    "frame": [S, TS],
    "segment_camera": [S, CAM],
    "segment_laser": [S, LASER],
}
XYZ = ("x", "y", "z")
INTRINSIC = ("f_u", "f_v", "c_u", "c_v", "k1", "k2", "p1", "p2", "k3")
TENSOR = (("values", "f32s"), ("shape", "shape3"))

# folder -> (key kind, component class, [(field, type token)])
COMPONENTS = {
    "camera_sensor": ("asset", "ObjectAssetCameraSensorComponent",
        [(f"camera_region.{p}.{a}", "d") for p in ("center", "size") for a in "xy"]
        + [("rgb_image", "bin"), ("proj_points_dist.values", "f32s"),
           ("proj_points_dist.shape", "shape2"), ("proj_points_mask", "bin")]),
    "ray": ("asset", "ObjectAssetRayComponent",
        [(f"ray_{n}.{p}", t) for n in ("origin", "direction") for p, t in TENSOR]),
    "ray_compressed": ("asset", "ObjectAssetRayCompressedComponent",
        [("reference", "f32s"), ("quantized_values", "i32s"), ("shape", "i32s")]),
    "auto_label": ("asset", "ObjectAssetAutoLabelComponent",
        [("semantic_mask", "bin"), ("instance_mask", "bin"), ("object_mask", "bin")]),
    "lidar_sensor": ("label", "ObjectAssetLiDARSensorComponent",
        [("points_xyz.values", "f32s"), ("points_xyz.shape", "shape2")]),
    "refined_pose": ("label", "ObjectAssetRefinedPoseComponent",
        [("box_from_vehicle.transform", "tf")]),
    "lidar_box": ("label", "LiDARBoxComponent",
        [(f"box.{p}.{a}", "d") for p in ("center", "size") for a in XYZ]
        + [("box.heading", "d"), ("type", "i8"), ("num_lidar_points_in_box", "i64"),
           ("num_top_lidar_points_in_box", "i64")]
        + [(f"{q}.{a}", "d") for q in ("speed", "acceleration") for a in XYZ]
        + [("difficulty_level.detection", "i8"), ("difficulty_level.tracking", "i8")]),
    "projected_lidar_box": ("projected", "ProjectedLiDARBoxComponent",
        [(f"box.{p}.{a}", "d") for p in ("center", "size") for a in "xy"] + [("type", "i8")]),
    "stats": ("frame", "StatsComponent",
        [("time_of_day", "str"), ("location", "str"), ("weather", "str")]),
    "camera_calibration": ("segment_camera", "CameraCalibrationComponent",
        [(f"intrinsic.{n}", "d") for n in INTRINSIC]
        + [("extrinsic.transform", "tf"), ("width", "i32"), ("height", "i32"),
           ("rolling_shutter_direction", "i8")]),
    "camera_image": ("camera", "CameraImageComponent", [("image", "bin")]),
    "camera_segmentation": ("camera", "CameraSegmentationLabelComponent",
        [("panoptic_label_divisor", "i32"), ("panoptic_label", "bin")]),
    "lidar": ("laser", "LiDARComponent",
        [(f"range_image_return{r}.{p}", t) for r in (1, 2) for p, t in TENSOR]),
    "lidar_calibration": ("segment_laser", "LiDARCalibrationComponent",
        [("extrinsic.transform", "tf"), ("beam_inclination.min", "d"),
         ("beam_inclination.max", "d"), ("beam_inclination.values", "ds")]),
    "vehicle_pose": ("frame", "VehiclePoseComponent", [("world_from_vehicle.transform", "tf")]),
}  # fmt: skip


def _type(token: str, old: bool) -> pa.DataType:
    fixed = {"shape2": 2, "shape3": 3, "tf": 16}
    if token in fixed:
        item = pa.int32() if token.startswith("shape") else pa.float64()
        if old:
            return pa.list_(pa.float32() if token == "tf" else item)
        return pa.list_(item, fixed[token])
    simple = {"d": pa.float64(), "bin": pa.binary(), "str": pa.string(), "i8": pa.int8()}
    simple.update(i32=pa.int32(), i64=pa.int64(), f32s=pa.list_(pa.float32()))
    simple.update(i32s=pa.list_(pa.int32()), ds=pa.list_(pa.float64()))
    return simple[token]


def schema(component: str, old: bool = False) -> pa.Schema:
    kind, cls, fields = COMPONENTS[component]
    key_types = {S: pa.string(), TS: pa.int64(), OBJ: pa.string(), LASER: pa.int8()}
    key_types[CAM] = pa.string() if old else pa.int8()
    out = [(k, key_types[k]) for k in KEYS[kind]]
    return pa.schema(out + [(f"[{cls}].{name}", _type(t, old)) for name, t in fields])


def prefixed(component: str, values: dict) -> dict:
    """``{field: value}`` -> ``{'[Component].field': value}`` (key columns pass through)."""
    cls = COMPONENTS[component][1]
    return {k if k.startswith("key.") else f"[{cls}].{k}": v for k, v in values.items()}


def write(path, component: str, rows: list[dict], old: bool = False, drop=()) -> None:
    """Write rows (dicts by column name) as one parquet file of the component's schema;
    missing fields are null; ``drop`` names columns to leave out (a partial export)."""
    sch = pa.schema([f for f in schema(component, old) if f.name not in drop])
    table = pa.Table.from_pylist(rows, schema=sch)
    path.parent.mkdir(parents=True, exist_ok=True)
    # older tooling: no ARROW:schema footer, list children named "item"
    pq.write_table(
        table, path, store_schema=not old, use_compliant_nested_type=not old, row_group_size=3
    )
