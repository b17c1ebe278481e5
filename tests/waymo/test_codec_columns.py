"""The ray codec (tile layout, round trip, config file) and type-robust column readers."""

import io
import json

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from gina3d.data.sources.waymo.codec import RayCodec, extract_tiles, fit_codec
from gina3d.data.sources.waymo.columns import decode_image, normalise_keys, tensor, transform
from gina3d.errors import Gina3dError


def identity_codec(tile: int) -> RayCodec:
    dims = tile * tile * 6
    eye = np.eye(dims)
    return RayCodec(np.zeros(dims), np.ones(dims), eye, np.ones(dims), np.ones(dims), tile)


def test_decode_puts_tiles_back_row_by_row():
    # integer rays and an identity PCA: the codec is exact, so the layout is checked exactly
    rng = np.random.default_rng(0)
    data = rng.integers(-50, 50, (5, 7, 6)).astype(np.float32)
    codec = identity_codec(2)
    ref, values, shape = codec.encode(data[..., :3], data[..., 3:])
    assert shape == [5, 7, 6] and len(values) == 3 * 4 * 24  # ceil(5/2) x ceil(7/2) tiles
    tiles = np.asarray(values).reshape(12, 2, 2, 6)
    # tile 1 is the second tile of the first tile row: rows 0-1, columns 2-3
    np.testing.assert_allclose(tiles[1] + np.asarray(ref), data[0:2, 2:4], atol=0.5)
    o, d = codec.decode(np.asarray(ref), np.asarray(values), shape)
    np.testing.assert_allclose(np.concatenate([o, d], -1), data, atol=0.5)
    assert o.dtype == np.float32 and o.shape == (5, 7, 3)


def test_fitted_codec_round_trip_and_config_file(tmp_path):
    rng = np.random.default_rng(1)
    samples = []
    for _ in range(4):
        h, w = rng.integers(9, 20, 2)
        yy, xx = np.mgrid[0:h, 0:w] / 20.0
        d = np.stack([np.ones_like(xx), xx - 0.5, yy - 0.5], -1)
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        o = np.broadcast_to([-9.0, 1.0, 0.5], d.shape) + 1e-3 * yy[..., None]
        samples.append((o.astype(np.float32), d.astype(np.float32)))
    codec = fit_codec(samples, tile_size=4, n_components=96)
    path = tmp_path / "codec_config.json"
    path.write_text(json.dumps(codec.to_dict()))
    loaded = RayCodec.load(path)
    for o, d in samples:
        ref, q, shape = loaded.encode(o, d)
        o2, d2 = loaded.decode(np.asarray(ref), np.asarray(q), shape)
        assert np.abs(o2 - o).max() < 1e-4 and np.abs(d2 - d).max() < 1e-4
    bad = codec.to_dict()
    bad["tile_size"] = 3
    path.write_text(json.dumps(bad))
    with pytest.raises(Gina3dError, match="codec_config.json"):
        RayCodec.load(path)


def test_extract_tiles_reflects_like_tensorflow():
    data = np.arange(3 * 1 * 6, dtype=np.float32).reshape(3, 1, 6)
    tiles, ref = extract_tiles(data, 2)
    padded = tiles.reshape(2, 1, 2, 2, 6)  # [ny, nx, T, T, C]
    # REFLECT excludes the edge: row 3 mirrors row 1, column 1 mirrors column 0
    np.testing.assert_allclose(padded[1, 0, 1, 0] + ref, data[1, 0])
    np.testing.assert_allclose(padded[0, 0, 0, 1] + ref, data[0, 0])


def test_keys_are_cast_from_older_types():
    table = pa.table(
        {
            "key.segment_context_name": ["s", "s", "s"],
            "key.frame_timestamp_micros": pa.array([1, 2, 3], pa.int32()),
            "key.camera_name": ["FRONT", "side_left", "5"],
        }
    )
    out = normalise_keys(table)
    assert out["key.camera_name"].type == pa.int8()
    assert out["key.camera_name"].to_pylist() == [1, 4, 5]
    assert out["key.frame_timestamp_micros"].type == pa.int64()
    floats = normalise_keys(pa.table({"key.camera_name": pa.array([1.0, 3.0])}))
    assert floats["key.camera_name"].to_pylist() == [1, 3]


def test_transforms_and_tensors_accept_float32_and_plain_lists():
    m = np.arange(16, dtype=np.float64).reshape(4, 4)
    for typ in (pa.list_(pa.float64(), 16), pa.list_(pa.float32())):
        arr = pa.array([m.ravel().tolist(), None], typ)
        np.testing.assert_array_equal(transform(arr, 0), m)
        assert transform(arr, 0).dtype == np.float64 and transform(arr, 1) is None
    values = pa.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], pa.list_(pa.float32()))
    for typ in (pa.list_(pa.int32(), 2), pa.list_(pa.int32())):
        out = tensor(values, pa.array([[2, 3]], typ), 0)
        assert out.shape == (2, 3) and out[1, 2] == 6.0


def test_sixteen_bit_png_keeps_its_values():
    mask = np.array([[0, 300], [65535, 1201]], dtype=np.uint16)
    buf = io.BytesIO()
    Image.fromarray(mask).save(buf, format="PNG")
    out = decode_image(buf.getvalue())
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, mask)
