"""Temporal steadiness: the bench clips, the flicker and sharpness bench, the floor on pans, render speed, figures."""
