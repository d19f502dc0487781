"""Story files uploaded through the admin, kept server-side between preview and confirm.

An upload is a set of story files, given one by one or inside ``.zip`` archives.
It is checked against limits before anything is kept (total size, number of
files, zip members, uncompressed sizes, compression ratio, member paths), then
stored in a private directory (``settings.NEWSROOM_UPLOAD_DIR``, never served)
under a random token. The token is bound to the user who uploaded and expires
after ``settings.NEWSROOM_UPLOAD_TTL_SECONDS``; confirm reads the stored files
again instead of having the browser re-send them.

Every refusal is an :class:`UploadRefused` with a message meant for the user;
when one is raised nothing has been kept.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from .archives import Extractor, StoredFile, UploadLimits, UploadRefused, looks_like_zip, size_text

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
META = "upload.json"
class UploadNotFound(Exception):
    """No stored upload under this token for this user (unknown, someone else's, or expired)."""


class LimitedUploadHandler(FileUploadHandler):
    """Counts files and bytes while the request body streams in, and stops early.

    Install it first in ``request.upload_handlers`` before the body is read. When
    a limit is crossed the rest of the body is consumed without being kept, and
    ``refusal`` holds the message.
    """

    def __init__(self, request=None, *, max_bytes: int, max_files: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.files = 0
        self.bytes = 0
        self.refusal: str = ""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.files += 1
        if self.files > self.max_files:
            self.refusal = f"Too many files: at most {self.max_files} files per upload."
            raise StopUpload(connection_reset=False)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.bytes += len(raw_data)
        if self.bytes > self.max_bytes:
            self.refusal = f"The upload is too large: at most {size_text(self.max_bytes)} in total."
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@dataclass
class StoredUpload:
    token: str
    directory: Path
    user_id: int
    created_at: float
    files: list[StoredFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def files_dir(self) -> Path:
        return self.directory / "files"

    def file_paths(self) -> Iterator[tuple[str, Path]]:
        """(display name, path on disk) for each stored story file, in upload order."""
        for stored in self.files:
            yield stored.name, self.files_dir / stored.relpath

    @property
    def label(self) -> str:
        names = [f.name.split("/", 1)[0] for f in self.files]
        unique = list(dict.fromkeys(names))
        head = ", ".join(unique[:3])
        return head + (f" and {len(unique) - 3} more" if len(unique) > 3 else "")

    def save_meta(self) -> None:
        data = {
            "user_id": self.user_id,
            "created_at": self.created_at,
            "files": [[f.name, f.relpath] for f in self.files],
            "skipped": [list(s) for s in self.skipped],
            "fingerprint": self.fingerprint,
        }
        tmp = self.directory / (META + ".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.directory / META)


def upload_root() -> Path:
    root = Path(settings.NEWSROOM_UPLOAD_DIR)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def store_upload(*, files: Iterable, user, limits: UploadLimits | None = None) -> StoredUpload:
    """Check the uploaded files against the limits and keep them under a new token.

    ``files`` are Django ``UploadedFile`` objects. Raises :class:`UploadRefused`
    (nothing kept) when a limit is broken or nothing usable was sent.
    """
    limits = limits or UploadLimits.from_settings()
    files = list(files)
    if not files:
        raise UploadRefused("Choose at least one story file or .zip archive.")
    if len(files) > limits.max_files:
        raise UploadRefused(f"Too many files: at most {limits.max_files} files per upload.")
    total = sum(f.size for f in files)
    if total > limits.max_total_bytes:
        raise UploadRefused(f"The upload is too large: at most {size_text(limits.max_total_bytes)} in total.")

    root = upload_root()
    purge_expired(limits=limits)
    token = secrets.token_urlsafe(24)
    partial = root / f"{token}.partial"
    partial.mkdir(mode=0o700)
    try:
        extractor = Extractor(partial / "files", limits)
        (partial / "files").mkdir(mode=0o700)
        for index, uploaded in enumerate(files):
            if looks_like_zip(uploaded):
                extractor.add_zip(index, uploaded)
            else:
                extractor.add_file(index, uploaded)
        if not extractor.files:
            raise UploadRefused("The upload holds no story files.")
        upload = StoredUpload(
            token=token,
            directory=root / token,
            user_id=user.pk,
            created_at=time.time(),
            files=extractor.files,
            skipped=extractor.skipped,
        )
        partial.rename(upload.directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    upload.save_meta()
    return upload


def load_upload(*, token: str, user, limits: UploadLimits | None = None) -> StoredUpload:
    """The stored upload for this token, if it belongs to ``user`` and has not expired."""
    limits = limits or UploadLimits.from_settings()
    if not TOKEN_RE.match(token or ""):
        raise UploadNotFound(token)
    directory = upload_root() / token
    try:
        data: dict[str, Any] = json.loads((directory / META).read_text())
    except (OSError, ValueError):
        raise UploadNotFound(token) from None
    if data.get("user_id") != user.pk:
        raise UploadNotFound(token)
    if time.time() - float(data["created_at"]) > limits.ttl_seconds:
        discard_upload(token=token)
        raise UploadNotFound(token)
    return StoredUpload(
        token=token,
        directory=directory,
        user_id=data["user_id"],
        created_at=float(data["created_at"]),
        files=[StoredFile(name=n, relpath=p) for n, p in data["files"]],
        skipped=[(n, r) for n, r in data.get("skipped", [])],
        fingerprint=data.get("fingerprint", ""),
    )


def discard_upload(*, token: str) -> None:
    if TOKEN_RE.match(token or ""):
        shutil.rmtree(upload_root() / token, ignore_errors=True)


def purge_expired(*, limits: UploadLimits | None = None, now: float | None = None) -> int:
    """Remove uploads older than the time-to-live, and leftovers of interrupted ones."""
    limits = limits or UploadLimits.from_settings()
    return expire_entries(upload_root(), ttl_seconds=limits.ttl_seconds, now=now)


def expire_entries(root: Path, *, ttl_seconds: int, now: float | None = None) -> int:
    """Remove the files and directories directly in ``root`` last changed more than ``ttl_seconds`` ago."""
    now = now or time.time()
    removed = 0
    for entry in root.iterdir():
        try:
            age = now - entry.lstat().st_mtime
        except OSError:
            continue
        if age <= ttl_seconds:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def fingerprint(outcomes: Iterable[dict[str, Any]]) -> str:
    """A stable digest of what an import would do, to compare a preview with its confirmation."""
    payload = json.dumps(list(outcomes), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()
