"""Benchmarks: `python -m tools.bench` (the frame loop stage by stage; --batch, --network, --backends and --quality
route to their own modules), `python -m tools.bench.region_cost` (region modes) and `python -m tools.bench.gpu_check`
(the CUDA path on a GPU machine). Kept free of imports so `python -m tools.bench.X` loads only what X needs."""
