"""The analyzer: DuckDB/Polars analyses over the lake.

Polars allocates through its own jemalloc, which, as Polars builds it, gives freed pages back to the system
within the same analysis; faulting them in again, zeroed by the kernel, took about 15% of the spreads
benchmark. Here it keeps them for jemalloc's documented default of 10 s (docs/benchmarks.md, "Analyzer").
jemalloc reads this once, when Polars first allocates, so it is set before any analyzer module imports
Polars; a setting already in the environment is left as it is.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000")
