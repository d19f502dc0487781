"""Admin registrations, one module per feature."""

from . import (
    imports,  # noqa: F401
    story,  # noqa: F401
)
