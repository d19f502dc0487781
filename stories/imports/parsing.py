"""From sources to parsed records, a chunk at a time, in this process or in a pool of workers.

Sources are read lazily and grouped in chunks of ``CHUNK_FILES`` files (or ``CHUNK_BYTES``
bytes): the importer writes a chunk in one transaction, and memory depends on the chunk
size, not on the batch. Each chunk's hashes are looked up once (``known_stories``): a
file whose bytes are a story's source is not parsed, unless a person changed that story
(its file must be read again to report the conflict).

With ``jobs > 1`` the files are parsed by ``jobs - 1`` worker processes while this one
writes, at most ``CHUNKS_AHEAD`` chunks ahead; chunks come back in file order, so the
outcome is the same as with ``jobs=1``. ``jobs=2`` keeps two cores busy (measured: faster
than two workers beside the writer on a two-core machine).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from stories.models import Story
from stories.storyfile import FileLimits, StoryFileError, StoryRecord, identity_key_for, parse_story
from stories.workflow import EDITORIAL_FIELDS

from .sources import StorySource

CHUNK_FILES = 250
CHUNK_BYTES = 8 * 1024 * 1024
# How far the reader runs ahead of the writer: enough that the workers parse the next chunk
# while the importer writes the current one, bounded so memory stays flat.
CHUNKS_AHEAD = 2
# Files per task sent to a worker: fewer, larger messages cost the writing process less.
FILES_PER_TASK = 16
# Values per ``IN (...)`` lookup, well under SQLite's limit on parameters in one query.
LOOKUP_BATCH = 500


def batches(values: Iterable[Any], size: int = LOOKUP_BATCH) -> Iterator[list[Any]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class Known:
    """The story whose source a file's bytes are."""

    story_id: int
    title: str
    decided: bool  # a person changed an editorial field since: the file is compared again


@dataclass
class ParsedFile:
    """One file of a chunk: unreadable or refused (``error``), known by its hash, or parsed."""

    path: str
    source_hash: str = ""
    known: Known | None = None
    record: StoryRecord | None = None
    key: str = ""
    error: str = ""

    @property
    def unchanged(self) -> bool:
        return self.known is not None and not self.known.decided


HashLookup = Callable[[Iterable[str]], Mapping[str, Known]]


def known_stories(hashes: Iterable[str]) -> dict[str, Known]:
    """The stories whose ``source_hash`` is one of ``hashes``."""
    known = {}
    for batch in batches(dict.fromkeys(h for h in hashes if h)):
        columns = ("source_hash", "id", "title", "editor_touched")
        rows = Story.objects.filter(source_hash__in=batch).values_list(*columns)
        for source_hash, pk, title, touched in rows:
            decided = any(name in EDITORIAL_FIELDS for name in touched or ())
            known[source_hash] = Known(story_id=pk, title=title, decided=decided)
    return known


_Read = tuple[StorySource, bytes | None, str]


def _read_chunks(sources: Iterable[StorySource], *, files: int, size: int) -> Iterator[list[_Read]]:
    chunk: list[_Read] = []
    total = 0
    for source in sources:
        try:
            data, error = source.read(), ""
        except OSError as exc:
            data, error = None, f"cannot read: {exc.strerror or exc}"
        chunk.append((source, data, error))
        total += len(data or b"")
        if len(chunk) >= files or total >= size:
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk


def _sha256(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest() if data is not None else ""


def _look_up(chunk: list[_Read], lookup: HashLookup) -> list[ParsedFile]:
    parsed = [
        ParsedFile(path=source.path, source_hash=_sha256(data), error=error) for source, data, error in chunk
    ]
    known = lookup([p.source_hash for p in parsed])
    for p in parsed:
        p.known = known.get(p.source_hash)
    return parsed


def _to_parse(chunk: list[_Read], parsed: list[ParsedFile]) -> list[int]:
    return [i for i, p in enumerate(parsed) if chunk[i][1] is not None and not p.unchanged]


def _serial(chunks: Iterator[list[_Read]], lookup: HashLookup) -> Iterator[list[ParsedFile]]:
    for chunk in chunks:
        parsed = _look_up(chunk, lookup)
        for i in _to_parse(chunk, parsed):
            source, data, _ = chunk[i]
            try:
                parsed[i].record, parsed[i].key = source.parse(data)
            except StoryFileError as exc:
                parsed[i].error = exc.reason
        yield parsed


def _parse_in_worker(files: list[tuple[str, bytes]], limits: FileLimits) -> list[tuple[Any, ...]]:
    """Runs in a worker process: parse some files. Errors travel back as plain values."""
    outcomes: list[tuple[Any, ...]] = []
    for path, data in files:
        try:
            record = parse_story(data, path=path, limits=limits)
            outcomes.append(("ok", record, identity_key_for(record)))
        except StoryFileError as exc:
            outcomes.append(("error", exc.message, exc.field, exc.line))
    return outcomes


def _ignore_interrupts() -> None:
    # Ctrl-C is the main process's to handle: it stops feeding work and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


_Tasks = list[tuple[Future, list[int]]]


def _collect(parsed: list[ParsedFile], tasks: _Tasks) -> list[ParsedFile]:
    for future, slots in tasks:
        for i, outcome in zip(slots, future.result(), strict=True):
            if outcome[0] == "ok":
                parsed[i].record, parsed[i].key = outcome[1], outcome[2]
            else:
                _, message, field, line = outcome
                parsed[i].error = StoryFileError(message, path=parsed[i].path, field=field, line=line).reason
    return parsed


def _in_pool(
    chunks: Iterator[list[_Read]], lookup: HashLookup, *, workers: int
) -> Iterator[list[ParsedFile]]:
    context = (
        multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    )
    limits = FileLimits.from_settings()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_ignore_interrupts)
    window: deque[tuple[list[ParsedFile], _Tasks]] = deque()
    try:
        for chunk in chunks:
            parsed = _look_up(chunk, lookup)
            slots = _to_parse(chunk, parsed)
            tasks: _Tasks = []
            for start in range(0, len(slots), FILES_PER_TASK):
                some = slots[start : start + FILES_PER_TASK]
                files = [(chunk[i][0].path, chunk[i][1]) for i in some]
                tasks.append((pool.submit(_parse_in_worker, files, limits), some))
            window.append((parsed, tasks))
            while len(window) > CHUNKS_AHEAD:
                yield _collect(*window.popleft())
        while window:
            yield _collect(*window.popleft())
    except BaseException:  # closed early (an error, Ctrl-C): drop the work nobody will ask for
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=False)


def parsed_chunks(
    sources: Iterable[StorySource],
    *,
    jobs: int = 1,
    chunk_files: int = CHUNK_FILES,
    chunk_bytes: int = CHUNK_BYTES,
    lookup: HashLookup = known_stories,
) -> Iterator[list[ParsedFile]]:
    """``sources`` read, looked up by hash and parsed, a chunk at a time, in order.

    ``jobs`` counts every process: this one writes while ``jobs - 1`` workers parse;
    ``jobs <= 1`` parses in this process (with ``StorySource.parse``).
    """
    chunks = _read_chunks(sources, files=chunk_files, size=chunk_bytes)
    if jobs <= 1:
        return _serial(chunks, lookup)
    return _in_pool(chunks, lookup, workers=jobs - 1)
