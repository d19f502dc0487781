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
import stat
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
DRIVE_RE = re.compile(r"^[A-Za-z]:")
CHUNK = 64 * 1024
META = "upload.json"
# Files inside an archive that are packaging noise, not story files.
NOISE_PREFIXES = ("__MACOSX/",)
ARCHIVE_SUFFIXES = (".zip", ".jar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
# Compression ratios are only meaningful past a size where headers stop dominating.
RATIO_FLOOR_BYTES = 64 * 1024
# What common file systems (ext4, APFS, NTFS) hold: longer names only come from crafted archives.
NAME_MAX_BYTES = 255
PATH_MAX_BYTES = 4096


class UploadRefused(Exception):
    """An upload that breaks a limit or cannot be read. The message is for the user."""


class UploadNotFound(Exception):
    """No stored upload under this token for this user (unknown, someone else's, or expired)."""


@dataclass(frozen=True)
class UploadLimits:
    max_total_bytes: int
    max_files: int
    max_zip_members: int
    max_uncompressed_bytes: int
    max_member_bytes: int
    max_ratio: int
    ttl_seconds: int

    @classmethod
    def from_settings(cls) -> UploadLimits:
        return cls(
            max_total_bytes=settings.NEWSROOM_UPLOAD_MAX_BYTES,
            max_files=settings.NEWSROOM_UPLOAD_MAX_FILES,
            max_zip_members=settings.NEWSROOM_UPLOAD_MAX_ZIP_MEMBERS,
            max_uncompressed_bytes=settings.NEWSROOM_UPLOAD_MAX_UNCOMPRESSED_BYTES,
            max_member_bytes=settings.NEWSROOM_UPLOAD_MAX_MEMBER_BYTES,
            max_ratio=settings.NEWSROOM_UPLOAD_MAX_RATIO,
            ttl_seconds=settings.NEWSROOM_UPLOAD_TTL_SECONDS,
        )


def size_text(n: int) -> str:
    """A byte count as people read it in a message ("10.0 MB")."""
    return str(filesizeformat(n)).replace("\xa0", " ")


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
class StoredFile:
    name: str  # what the user sees: "batch.zip/2024/a.txt" or "a.txt"
    relpath: str  # where it lives, relative to the upload's files/ directory


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


def _shown(name: str, limit: int = 80) -> str:
    """A name short enough to quote in a message."""
    return name if len(name) <= limit else f"{name[: limit - 20]}…{name[-15:]}"


def _safe_member_path(name: str) -> PurePosixPath:
    """The relative path of a zip member, or UploadRefused if it could land outside the target."""
    if len(name.encode()) > PATH_MAX_BYTES or any(
        len(part.encode()) > NAME_MAX_BYTES for part in name.replace("\\", "/").split("/")
    ):
        raise UploadRefused(
            f"Refused zip member {_shown(name)!r}: the name is too long (at most {NAME_MAX_BYTES} bytes "
            f"per file or folder name and {PATH_MAX_BYTES} bytes in all)."
        )
    if "\x00" in name:
        raise UploadRefused(f"Refused zip member {name!r}: the name contains a NUL byte.")
    normalised = name.replace("\\", "/")
    if normalised.startswith("/"):
        raise UploadRefused(f"Refused zip member {name!r}: absolute paths are not allowed.")
    if DRIVE_RE.match(normalised):
        raise UploadRefused(f"Refused zip member {name!r}: drive letters are not allowed.")
    parts = [p for p in normalised.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UploadRefused(f"Refused zip member {name!r}: '..' in a path is not allowed.")
    if not parts:
        raise UploadRefused(f"Refused zip member {name!r}: empty path.")
    return PurePosixPath(*parts)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def _safe_file_name(name: str) -> str:
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = base.replace("\x00", "")
    if base in ("", ".", ".."):
        base = "upload"
    return base


def _looks_like_zip(uploaded) -> bool:
    name = (getattr(uploaded, "name", "") or "").lower()
    if name.endswith(".zip"):
        return True
    uploaded.seek(0)
    magic = uploaded.read(4)
    uploaded.seek(0)
    return magic == b"PK\x03\x04"


class _Extractor:
    """Writes one upload into a directory, enforcing the limits as it goes."""

    def __init__(self, target: Path, limits: UploadLimits):
        self.target = target.resolve()
        self.limits = limits
        self.files: list[StoredFile] = []
        self.skipped: list[tuple[str, str]] = []
        self.members = 0
        self.uncompressed = 0

    def _destination(self, relative: PurePosixPath) -> Path:
        dest = (self.target / relative).resolve()
        if not dest.is_relative_to(self.target):
            raise UploadRefused(f"Refused {relative}: it would be written outside the upload directory.")
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    def add_file(self, index: int, uploaded) -> None:
        name = _safe_file_name(uploaded.name)
        if uploaded.size > self.limits.max_member_bytes:
            raise UploadRefused(
                f"{name} is too large ({size_text(uploaded.size)}): "
                f"at most {size_text(self.limits.max_member_bytes)} per story file."
            )
        # Files are kept under names of our own: what the user called them is only shown.
        relative = PurePosixPath(f"{index:04d}", "file")
        dest = self._destination(relative)
        with dest.open("xb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
        self.files.append(StoredFile(name=name, relpath=str(relative)))

    def add_zip(self, index: int, uploaded) -> None:
        archive = _safe_file_name(uploaded.name)
        uploaded.seek(0)
        try:
            zf = zipfile.ZipFile(uploaded)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise UploadRefused(f"{archive} is not a readable zip archive ({exc}).") from None
        with zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            self.members += len(infos)
            if self.members > self.limits.max_zip_members:
                raise UploadRefused(
                    f"{archive} has too many members: at most {self.limits.max_zip_members} "
                    "files inside archives per upload."
                )
            too_large = UploadRefused(
                f"{archive} is too large uncompressed: at most "
                f"{size_text(self.limits.max_uncompressed_bytes)} per upload."
            )
            # The archive as a whole: a member below the ratio floor escapes the per-member
            # check, and thousands of them make a bomb.
            archive_budget = max(RATIO_FLOOR_BYTES, self.limits.max_ratio * max(uploaded.size, 1))
            bomb = UploadRefused(
                f"Refused {archive}: compression ratio above {self.limits.max_ratio}:1 over the whole "
                "archive (a zip bomb?)."
            )
            # First pass over the declared sizes and names: refuse before writing anything.
            declared = self.uncompressed
            wanted: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
            files: dict[PurePosixPath, str] = {}
            for info in infos:
                label = f"{archive}/{info.filename}"
                relative = _safe_member_path(info.filename)
                if relative in files:
                    raise UploadRefused(f"Refused {_shown(label)!r}: the archive holds it twice.")
                files[relative] = label
                if _is_symlink(info):
                    raise UploadRefused(f"Refused zip member {label!r}: symbolic links are not allowed.")
                if info.flag_bits & 0x1:
                    raise UploadRefused(f"Refused zip member {label!r}: encrypted members are not supported.")
                if info.file_size > self.limits.max_member_bytes:
                    raise UploadRefused(
                        f"Refused zip member {label!r}: {size_text(info.file_size)} uncompressed, "
                        f"at most {size_text(self.limits.max_member_bytes)} per file."
                    )
                if (
                    info.file_size > RATIO_FLOOR_BYTES
                    and info.file_size > self.limits.max_ratio * max(info.compress_size, 1)
                ):
                    raise UploadRefused(
                        f"Refused zip member {label!r}: compression ratio above "
                        f"{self.limits.max_ratio}:1 (a zip bomb?)."
                    )
                declared += info.file_size
                if declared > self.limits.max_uncompressed_bytes:
                    raise too_large
                if str(relative).startswith(NOISE_PREFIXES) or relative.name.startswith("."):
                    self.skipped.append((label, "packaging file, not a story"))
                    continue
                if relative.name.lower().endswith(ARCHIVE_SUFFIXES):
                    self.skipped.append((label, "nested archives are not expanded"))
                    continue
                wanted.append((info, relative))
            if declared - self.uncompressed > archive_budget:
                raise bomb
            folders = {parent for relative in files for parent in relative.parents}
            folders |= {_safe_member_path(i.filename) for i in zf.infolist() if i.is_dir()}
            for relative in files:
                if relative in folders:
                    # No file system can unpack this archive; refuse it rather than pick one.
                    raise UploadRefused(
                        f"Refused {archive}: it holds both a file and a folder named {str(relative)!r}."
                    )
            # Second pass: extract, counting the bytes actually produced; declared sizes can lie.
            archive_written = 0
            for number, (info, relative) in enumerate(wanted):
                label = f"{archive}/{relative}"
                # Members are kept under names of our own: their names in the archive are only shown.
                stored = PurePosixPath(f"{index:04d}", f"{number:05d}")
                dest = self._destination(stored)
                written = 0
                try:
                    with zf.open(info) as src, dest.open("xb") as out:
                        while chunk := src.read(CHUNK):
                            written += len(chunk)
                            archive_written += len(chunk)
                            self.uncompressed += len(chunk)
                            if written > min(info.file_size, self.limits.max_member_bytes):
                                raise UploadRefused(
                                    f"Refused zip member {label!r}: it expands beyond its declared size."
                                )
                            if self.uncompressed > self.limits.max_uncompressed_bytes:
                                raise too_large
                            if archive_written > archive_budget:
                                raise bomb
                            out.write(chunk)
                except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                    raise UploadRefused(f"Refused zip member {label!r}: it cannot be read ({exc}).") from None
                self.files.append(StoredFile(name=label, relpath=str(stored)))


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
        extractor = _Extractor(partial / "files", limits)
        (partial / "files").mkdir(mode=0o700)
        for index, uploaded in enumerate(files):
            if _looks_like_zip(uploaded):
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
