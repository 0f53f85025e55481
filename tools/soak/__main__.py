"""`python -m tools.soak`: the live window soaked on a looping file (tools/soak/run.py)."""
import sys

from tools.soak.run import main

sys.exit(main())
