"""Admin registrations, one module per subject."""

from . import (
    audit,  # noqa: F401
    providers,  # noqa: F401
    runs,  # noqa: F401
    story,  # noqa: F401
    topic,  # noqa: F401
)
