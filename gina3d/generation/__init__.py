"""Stage-2 generation: the token cache (``token_cache``), sampling token grids (``sampler``)."""
