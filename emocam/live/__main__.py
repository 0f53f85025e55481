"""`python -m emocam.live`: the same as `emocam live` (one error path: emocam.cli)."""
import sys

from emocam.cli import entry

sys.argv[1:1] = ["live"]
raise SystemExit(entry())
