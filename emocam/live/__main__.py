"""`python -m emocam.live`: the same as `emocam live` (one error path: emocam.cli)."""
import sys

from emocam.cli import main

raise SystemExit(main(["live", *sys.argv[1:]]))
