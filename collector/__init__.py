"""The collector: cryptofeed ingest, normalization, dispatch to the fan-out server and the lake."""
