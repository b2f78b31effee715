"""Declarative dialog flows, their pure engine, message catalogues and renderers (no I/O)."""
