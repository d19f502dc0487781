"""What goes into a stored upload: story files as given, and the members of ``.zip`` archives,
each checked against the limits before and while it is written.

Archives are hostile until proven otherwise: member names that could land outside the
upload (absolute paths, ``..``, drive letters, NUL bytes, symbolic links), encrypted
members, a file and a folder of one name, too many members, too many bytes (declared
sizes checked first, bytes counted while extracting) and compression ratios of a zip
bomb are refused; nested archives and packaging files are listed as not imported.
Everything is kept under names of our own, never the archive's.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.template.defaultfilters import filesizeformat

DRIVE_RE = re.compile(r"^[A-Za-z]:")
CHUNK = 64 * 1024
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


@dataclass
class StoredFile:
    name: str  # what the user sees: "batch.zip/2024/a.txt" or "a.txt"
    relpath: str  # where it lives, relative to the upload's files/ directory


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


def looks_like_zip(uploaded) -> bool:
    name = (getattr(uploaded, "name", "") or "").lower()
    if name.endswith(".zip"):
        return True
    uploaded.seek(0)
    magic = uploaded.read(4)
    uploaded.seek(0)
    return magic == b"PK\x03\x04"


class Extractor:
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
        name = _safe_file_name(uploaded.name)
        uploaded.seek(0)
        try:
            zf = zipfile.ZipFile(uploaded)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise UploadRefused(f"{name} is not a readable zip archive ({exc}).") from None
        with zf:
            archive = _Archive(name, zf, self.limits, size=uploaded.size)
            self.members += len(archive.infos)
            if self.members > self.limits.max_zip_members:
                raise UploadRefused(
                    f"{name} has too many members: at most {self.limits.max_zip_members} "
                    "files inside archives per upload."
                )
            self._extract(index, archive, self._wanted(archive))

    def _check_member(self, info: zipfile.ZipInfo, label: str) -> None:
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

    def _wanted(self, archive: _Archive) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
        """First pass, over the declared sizes and names: refuse before writing anything."""
        declared = self.uncompressed
        wanted: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        files: dict[PurePosixPath, str] = {}
        for info in archive.infos:
            label = f"{archive.name}/{info.filename}"
            relative = _safe_member_path(info.filename)
            if relative in files:
                raise UploadRefused(f"Refused {_shown(label)!r}: the archive holds it twice.")
            files[relative] = label
            self._check_member(info, label)
            declared += info.file_size
            if declared > self.limits.max_uncompressed_bytes:
                raise archive.too_large
            if str(relative).startswith(NOISE_PREFIXES) or relative.name.startswith("."):
                self.skipped.append((label, "packaging file, not a story"))
            elif relative.name.lower().endswith(ARCHIVE_SUFFIXES):
                self.skipped.append((label, "nested archives are not expanded"))
            else:
                wanted.append((info, relative))
        if declared - self.uncompressed > archive.budget:
            raise archive.bomb
        folders = {parent for relative in files for parent in relative.parents}
        folders |= {_safe_member_path(i.filename) for i in archive.zf.infolist() if i.is_dir()}
        for relative in files:
            if relative in folders:
                # No file system can unpack this archive; refuse it rather than pick one.
                raise UploadRefused(
                    f"Refused {archive.name}: it holds both a file and a folder named {str(relative)!r}."
                )
        return wanted

    def _extract(
        self, index: int, archive: _Archive, wanted: list[tuple[zipfile.ZipInfo, PurePosixPath]]
    ) -> None:
        """Second pass: extract, counting the bytes actually produced; declared sizes can lie."""
        for number, (info, relative) in enumerate(wanted):
            label = f"{archive.name}/{relative}"
            # Members are kept under names of our own: their names in the archive are only shown.
            stored = PurePosixPath(f"{index:04d}", f"{number:05d}")
            dest = self._destination(stored)
            written = 0
            try:
                with archive.zf.open(info) as src, dest.open("xb") as out:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        archive.written += len(chunk)
                        self.uncompressed += len(chunk)
                        if written > min(info.file_size, self.limits.max_member_bytes):
                            raise UploadRefused(
                                f"Refused zip member {label!r}: it expands beyond its declared size."
                            )
                        if self.uncompressed > self.limits.max_uncompressed_bytes:
                            raise archive.too_large
                        if archive.written > archive.budget:
                            raise archive.bomb
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                raise UploadRefused(f"Refused zip member {label!r}: it cannot be read ({exc}).") from None
            self.files.append(StoredFile(name=label, relpath=str(stored)))


class _Archive:
    """One zip archive of an upload, with the refusals that name it."""

    def __init__(self, name: str, zf: zipfile.ZipFile, limits: UploadLimits, *, size: int):
        self.name = name
        self.zf = zf
        self.infos = [i for i in zf.infolist() if not i.is_dir()]
        # The archive as a whole: a member below the ratio floor escapes the per-member
        # check, and thousands of them make a bomb.
        self.budget = max(RATIO_FLOOR_BYTES, limits.max_ratio * max(size, 1))
        self.written = 0
        self.too_large = UploadRefused(
            f"{name} is too large uncompressed: at most "
            f"{size_text(limits.max_uncompressed_bytes)} per upload."
        )
        self.bomb = UploadRefused(
            f"Refused {name}: compression ratio above {limits.max_ratio}:1 over the whole "
            "archive (a zip bomb?)."
        )
