"""spreadlake's command line: the one place that wires the services together.

It also sets what the process's libraries read once, as they load. Polars allocates through its own
jemalloc, which, as Polars builds it, gives freed pages back to the system within one analysis; faulting
them in again, zeroed by the kernel, took about 13% of the analyzer's spreads benchmark. Here jemalloc keeps
them for its documented default of 10 s (docs/benchmarks.md, "Analyzer"). Set before any module imports
Polars, and inherited by the flow runs `spreadlake flows serve` starts; a setting already in the environment
is left as it is.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:10000")
