"""emocam: restyle live video by the emotion on people's faces."""

__version__ = "0.1.0"
