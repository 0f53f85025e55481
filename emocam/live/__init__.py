"""`emocam live`: the PySide6 window, recording and virtual camera.

Only argument parsing is imported here; Qt loads when `run` is called.
"""

from emocam.live.app import add_arguments, run

__all__ = ["add_arguments", "run"]
