"""gina3d: generative 3D assets of vehicles and pedestrians learned from driving sensor data."""

__version__ = "0.1.0"
