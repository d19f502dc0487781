"""Local files of an install (``var/``): secret key, SQLite database, uploads, admin password.

Other users of the machine must not read them: the directory is 0700 and the
files 0600, whatever the umask. Files that hold a secret are created once and
never overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def _owned(path: Path) -> bool:
    return path.stat().st_uid == os.getuid()


def private_directory(path: Path) -> Path:
    """``path`` as a directory only its owner can enter (an existing one of ours is tightened)."""
    path.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
    # mkdir leaves an existing directory as it was: older installs made var/ 0755.
    if _owned(path) and path.stat().st_mode & 0o777 != PRIVATE_DIRECTORY_MODE:
        path.chmod(PRIVATE_DIRECTORY_MODE)
    return path


def make_private(path: Path) -> None:
    """Tighten an existing file of ours to 0600."""
    if path.is_file() and _owned(path) and path.stat().st_mode & 0o777 != PRIVATE_FILE_MODE:
        path.chmod(PRIVATE_FILE_MODE)


def create_private_file(path: Path, text: str = "") -> bool:
    """Create ``path`` readable by its owner only, holding ``text``.

    Returns False, writing nothing, when the file already exists: a secret
    written once is never replaced behind its owner's back.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True
