"""The analyzer: DuckDB/Polars analyses over the lake."""
