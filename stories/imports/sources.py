"""Story files to import: found on disk or on standard input, read only when asked.

A directory is walked recursively, in sorted order, for story files only (a story
suffix, not hidden, not a README or the like); a file given by name is imported
whatever its name. Reading stops one byte past the size limit, which is enough for
the parser to refuse an oversized file with its own message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings

from stories.storyfile import StoryRecord, identity_key_for, parse_story

STORY_SUFFIXES = (".md", ".markdown", ".txt", ".yaml", ".yml")
# Documentation that lives beside story files in a directory; given by name, they are still imported.
NOT_STORIES = {"readme", "changelog", "license", "licence", "contributing", "manifest", "survey", "notes"}


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
            found = []
            for root, dirnames, filenames in os.walk(path):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                found += [os.path.join(root, name) for name in filenames if is_story_file(name)]
            # Paths only (small); the files themselves are read one at a time.
            limit = size_limit()
            for full in sorted(found):
                yield StorySource(path=full, opener=file_opener(full, limit))
        elif os.path.isfile(path):
            yield StorySource(path=path, opener=file_opener(path))
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
