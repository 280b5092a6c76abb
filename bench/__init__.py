"""Benchmarks, outside the test suite: our Impilo mock next to Prism under wrk, and the store-size curve.

`make bench` runs both and writes `reports/bench.json`; `make bench-scale` only the curve. Speed is
reported as numbers and ratios, never asserted.
"""
