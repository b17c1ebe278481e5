"""``gina3d view``: a browser viewer (viser) of datasets, runs' assets, live renders and
sampling. ``server.Viewer`` is the entry point; docs/viewer.md describes what it shows."""
