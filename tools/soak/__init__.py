"""Long runs of the live window: `python -m tools.soak` (run.py drives it, report.py judges the memory record)."""
