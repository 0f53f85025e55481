"""`python -m tools.bench`: the benchmark's one command (tools/bench/frame_loop.py routes the other modes)."""
import sys

from tools.bench.frame_loop import main

sys.exit(main())
