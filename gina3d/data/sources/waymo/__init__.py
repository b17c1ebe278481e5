"""Waymo Open Dataset v2 (parquet) as a data source, read without TensorFlow.

Two inputs, one output format (docs/waymo.md maps every column):

* the Perception Object Assets release (``assets.py``): ready object patches with exact
  per-pixel rays, resampled into the record schema;
* the raw v2 perception logs (``frames.py``): ``Frame`` objects for the shared patch
  extraction (``gina3d.data.patches``), like the synthetic world.

``convert.py`` runs either over many segments (one task per segment, Dask or in process),
resumably, with per-segment reports of what was missing or unmatched.
"""
