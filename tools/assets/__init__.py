"""Rebuilding files shipped inside the package: `python -m tools.assets.make_sample_clip` (emocam/data/sample.mp4)."""
