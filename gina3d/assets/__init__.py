"""Assets: token grids and tri-planes turned into files a simulator can use.

``mesh`` (density grid, marching cubes, cleaning) with ``surface`` (where the surface is)
and ``mesh_export`` (GLB/PLY/OBJ); ``turntable`` (views around an asset); ``asset_io`` (the
asset folder: save and load; what it writes in ``asset_spec``) with ``decoder_ref`` (which
stage-1 checkpoint decodes it); ``editing`` (swapping token planes and regions);
``reconstruct`` (patch or image -> tokens);
``token_stats`` (Hamming and image distances, the variation curve); ``run_models`` (what
the commands need from a run, and the one place that calls the stage-2 sampler);
``options`` (shared command-line options). docs/assets.md describes the folder format and
the commands.
"""
