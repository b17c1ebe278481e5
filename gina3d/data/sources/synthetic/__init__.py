"""The built-in synthetic driving world: procedural assets, street scenes, camera rig, LiDAR."""
