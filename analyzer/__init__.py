"""The analyzer: DuckDB/Polars analyses over the lake. Processes that run it through the command line get
Polars' allocator setting from `spreadlake/__init__.py` (docs/benchmarks.md, "Analyzer")."""
