"""Story files to import: found on disk or on standard input, read only when asked.

A directory is walked recursively, in sorted order, for story files only (a story
suffix, not hidden, not a README or the like); a file given by name is imported
whatever its name. Reading stops one byte past the size limit, which is enough for
the parser to refuse an oversized file with its own message.

The walk is streamed: paths come one at a time, in the order of their full paths sorted,
and memory does not grow with the batch. A directory of more than ``SORT_RUN`` entries is
sorted in runs kept in temporary files and merged (``_sorted_names``).
"""

from __future__ import annotations

import heapq
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings

from stories.storyfile import StoryRecord, identity_key_for, parse_story

STORY_SUFFIXES = (".md", ".markdown", ".txt", ".yaml", ".yml")
# Documentation that lives beside story files in a directory; given by name, they are still imported.
NOT_STORIES = {"readme", "changelog", "license", "licence", "contributing", "manifest", "survey", "notes"}
# Names of one directory sorted in memory at a time; a larger directory is sorted in runs.
SORT_RUN = 10_000


@dataclass(frozen=True)
class StorySource:
    """One story file to import; ``read()`` opens it only when called."""

    path: str
    opener: Callable[[], bytes] = field(repr=False, compare=False)

    def read(self) -> bytes:
        return self.opener()

    def parse(self, data: bytes) -> tuple[StoryRecord, str]:
        """The record and identity key of ``data``."""
        record = parse_story(data, path=self.path)
        return record, identity_key_for(record)


def size_limit() -> int:
    return int(settings.NEWSROOM_MAX_STORY_FILE_BYTES)


def file_opener(path: str, limit: int | None = None) -> Callable[[], bytes]:
    def read() -> bytes:
        with open(path, "rb") as handle:
            return handle.read((limit if limit is not None else size_limit()) + 1)

    return read


def _stream_opener(stream: BinaryIO) -> Callable[[], bytes]:
    def read() -> bytes:
        data = stream.read(size_limit() + 1)
        return data.encode("utf-8") if isinstance(data, str) else data

    return read


def is_story_file(name: str) -> bool:
    """Whether a directory walk picks up ``name``: a story suffix, not hidden, not a README or the like."""
    base = os.path.basename(name)
    stem = base.rsplit(".", 1)[0].lower()
    return base.lower().endswith(STORY_SUFFIXES) and not base.startswith(".") and stem not in NOT_STORIES


def iter_story_sources(paths: Iterable[str], *, stdin: BinaryIO | None = None) -> Iterator[StorySource]:
    """Files as given, directories recursively (sorted, story files only), ``-`` for standard input.

    Raises FileNotFoundError for a path that does not exist.
    """
    for path in paths:
        if path == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            yield StorySource(path="-", opener=_stream_opener(stream))
        elif os.path.isdir(path):
            limit = size_limit()
            for full in _walk(path):
                yield StorySource(path=full, opener=file_opener(full, limit))
        elif os.path.isfile(path):
            yield StorySource(path=path, opener=file_opener(path))
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")


def _walk(directory: str) -> Iterator[str]:
    """Story files under ``directory``, depth first, in the order of their full paths sorted.

    A subdirectory sorts as its name plus ``/``, where its files' paths would: ``b.md`` comes
    before ``b/x.md``. Hidden directories and symbolic links to directories are not entered;
    a directory that cannot be listed is passed over.
    """
    for name in _sorted_names(directory):
        full = os.path.join(directory, name.rstrip("/"))
        if name.endswith("/"):
            yield from _walk(full)
        elif is_story_file(name):
            yield full


def _entries(directory: str) -> Iterator[str]:
    """The names in ``directory``, each subdirectory's with a ``/`` after it."""
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                    if is_dir and (entry.name.startswith(".") or entry.is_symlink()):
                        continue
                except OSError:
                    continue
                yield entry.name + "/" if is_dir else entry.name
    except OSError:
        return


def _sorted_names(directory: str) -> Iterator[str]:
    """``_entries(directory)`` sorted, holding at most ``SORT_RUN`` names in memory: longer
    listings are sorted in runs written to temporary files, then merged."""
    runs: list = []
    names: list[str] = []
    try:
        for name in _entries(directory):
            names.append(name)
            if len(names) >= SORT_RUN:
                runs.append(_spilled(sorted(names)))
                names = []
        names.sort()
        if not runs:
            yield from names
            return
        yield from heapq.merge(names, *(_read_run(run) for run in runs))
    finally:
        for run in runs:
            run.close()


def _spilled(names: list[str]):
    """A sorted run of names in a temporary file, one per line as the hex of its bytes (a file
    name may hold a newline)."""
    run = tempfile.TemporaryFile("w+", encoding="ascii")  # noqa: SIM115 - closed by _sorted_names
    for name in names:
        run.write(os.fsencode(name).hex() + "\n")
    run.seek(0)
    return run


def _read_run(run) -> Iterator[str]:
    for line in run:
        yield os.fsdecode(bytes.fromhex(line.rstrip("\n")))
