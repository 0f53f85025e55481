"""Batch rendering: many inputs and long videos, split into chunks, on Ray workers or one after another."""
