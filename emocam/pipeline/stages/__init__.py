"""The pipeline's stages, one module each (base.py: their lifecycle and the per-frame state they share)."""
