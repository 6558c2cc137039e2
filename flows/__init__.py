"""Prefect flows: thin wrappers that schedule analyzer functions."""
