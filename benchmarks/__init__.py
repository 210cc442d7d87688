"""lakefeed benchmarks: `benchmarks/run.py` (`make bench`) and the measurements it calls."""
