"""TickStock benchmarks: `python bench/run_all.py [NAME ...] [--quick] [--json F]`."""
