"""spreadlake's command line: the one place that wires the services together."""
