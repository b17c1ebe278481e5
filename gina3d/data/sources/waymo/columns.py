"""WOD v2 column names and type-robust readers of their Arrow values.

Column names follow the v2 flattening rule: key fields are ``key.<field>``, component
fields ``[<ComponentClass>].<field>.<subfield>``. Readers accept the types real files
have been seen with: ``key.camera_name`` as int8 or as a string ('FRONT'), transforms as
float64 or float32, tensors as ``list`` or ``fixed_size_list``; they cast, never assume.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from PIL import Image

SEGMENT = "key.segment_context_name"
TIMESTAMP = "key.frame_timestamp_micros"
CAMERA = "key.camera_name"
LASER = "key.laser_name"
LASER_OBJECT = "key.laser_object_id"
CAMERA_OBJECT = "key.camera_object_id"
KEY_PREFIX = "key."

CAMERA_NAMES = {0: "UNKNOWN", 1: "FRONT", 2: "FRONT_LEFT", 3: "FRONT_RIGHT", 4: "SIDE_LEFT"}
CAMERA_NAMES[5] = "SIDE_RIGHT"
LASER_NAMES = {0: "UNKNOWN", 1: "TOP", 2: "FRONT", 3: "SIDE_LEFT", 4: "SIDE_RIGHT", 5: "REAR"}
BOX_TYPES = {1: "vehicle", 2: "pedestrian", 3: "sign", 4: "cyclist"}
# Image size (H, W) of each camera when camera_calibration is not at hand (WOD v2 cameras).
DEFAULT_IMAGE_SIZE = {1: (1280, 1920), 2: (1280, 1920), 3: (1280, 1920), 4: (886, 1920)}
DEFAULT_IMAGE_SIZE[5] = (886, 1920)

_ENUMS = {CAMERA: CAMERA_NAMES, LASER: LASER_NAMES}


def col(component: str, field: str) -> str:
    """``[Component].field``, the flattened column name of a component field."""
    return f"[{component}].{field}"


def key_columns(schema: pa.Schema) -> list[str]:
    """The ``key.*`` columns of a schema, in file order."""
    return [n for n in schema.names if n.startswith(KEY_PREFIX)]


def _enum_code(name: str, value) -> int:
    """An enum value from an int, a float (after a NaN-producing merge) or a name."""
    if isinstance(value, str):
        by_name = {v: k for k, v in _ENUMS[name].items()}
        text = value.strip().upper()
        if text in by_name:
            return by_name[text]
        return int(float(text))
    return int(value)


def normalise_keys(table: pa.Table) -> pa.Table:
    """Cast key columns to the types of the current schema: strings, int64 timestamps and
    int8 enums (camera_name given as 'FRONT' or 1.0 becomes 1)."""
    for name in key_columns(table.schema):
        column = table[name]
        if name in _ENUMS:
            if pa.types.is_integer(column.type):
                column = column.cast(pa.int8())
            else:
                codes = [None if v is None else _enum_code(name, v) for v in column.to_pylist()]
                column = pa.array(codes, type=pa.int8())
        elif name == TIMESTAMP:
            column = column.cast(pa.int64())
        elif not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def key_value(name: str, value) -> object:
    """One key value cast like ``normalise_keys`` (for rows read one at a time)."""
    if value is None:
        return None
    if name in _ENUMS:
        return _enum_code(name, value)
    if name == TIMESTAMP:
        return int(value)
    return str(value)


def flat_values(array: pa.Array, row: int, dtype=np.float32) -> np.ndarray | None:
    """The flattened values of a ``list``/``fixed_size_list`` cell as numpy, or None if null."""
    scalar = array[row]
    if not scalar.is_valid:
        return None
    values = scalar.values
    if values is None:
        return np.zeros(0, dtype=dtype)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=dtype)


def tensor(values_col: pa.Array, shape_col: pa.Array, row: int, dtype=np.float32):
    """A values/shape tensor pair as an array of that shape, or None if either is null."""
    values = flat_values(values_col, row, dtype)
    shape = flat_values(shape_col, row, np.int64)
    if values is None or shape is None:
        return None
    return values.reshape(tuple(int(s) for s in shape))


def transform(array: pa.Array, row: int) -> np.ndarray | None:
    """A 4x4 row-major transform (float32 or float64, list or fixed list) as float64."""
    values = flat_values(array, row, np.float64)
    if values is None:
        return None
    if values.size != 16:
        raise ValueError(f"transform has {values.size} values, expected 16")
    return values.reshape(4, 4)


def scalar(array: pa.Array, row: int, default=None):
    value = array[row].as_py()
    return default if value is None else value


def decode_image(data: bytes | None, dtype=None) -> np.ndarray | None:
    """Decode PNG or JPEG bytes with Pillow; 16-bit PNGs keep their 16 bits.

    Single-channel images come back as [H,W] (TensorFlow would give [H,W,1]).
    """
    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as img:
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            out = np.array(img).astype(np.uint16)
        elif img.mode in ("RGBA", "P", "CMYK", "YCbCr"):
            out = np.array(img.convert("RGB"))
        else:
            out = np.array(img)
    if out.ndim == 3 and out.shape[-1] == 1:
        out = out[..., 0]
    return out if dtype is None else out.astype(dtype)
