"""The two groups of the viewer's scene graph: the dataset's nodes and the assets' nodes
(both in their object frame, so they overlap; a dropdown chooses which one shows)."""

DATASET_ROOT = "/dataset"
ASSET_ROOT = "/asset"
