"""Peiling: the poll and discussion application built on `activitypub`."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("peiling")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
