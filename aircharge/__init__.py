"""The composition root: command line, configuration, database, wiring, logging, metrics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aircharge")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
