"""Admin registrations, one module per feature."""

from . import story  # noqa: F401
from . import imports  # noqa: F401
