"""Admin registrations, one module per feature."""

from . import story  # noqa: F401
