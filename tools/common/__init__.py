"""Helpers the tool packages share: command-line parsing (args), the machine a run was measured on (machine), and
the flicker and sharpness measures (video_quality)."""
