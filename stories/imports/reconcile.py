"""What a story file may change on a stored story: one pure decision, as a ``workflow.Plan``.

No database and no files: ``reconcile()`` takes the stored story as read
(``records.StoredStory``), the file's record, who is importing and the overwrite flag,
and says what changes, what conflicts, what is held for a moderator and which workflow
action the file's ``published`` flag asks for. The rules:

* A part the file would change that is **held** (what readers see of a published story,
  for an importer who may not publish: ``workflow.held_fields``) keeps the story's value
  and is a conflict, whatever ``overwrite`` says: an editor's file never changes what
  readers see of a published story, and never unpublishes it. A held file's hash is not
  recorded, so that a moderator's import (or the command) applies it later.
* A part a **person changed** (``editor_touched``: content, provider, related links,
  images, topics, quality, heat, published; a lead image an editor uploaded counts as
  ``images``) keeps the person's value and is a conflict when the file differs, unless
  ``overwrite``. A file that leaves such a key out says nothing about it.
* Everything else is the file's. ``published`` moves the state only when it flips
  against the file's previous value (``Story.file_published``), so a re-import of the
  same file never undoes a moderator's decision; the move is the transition
  ``workflow.import_action`` derives from the state machine, and one the workflow would
  refuse (the story's expiry time has passed) keeps the state and is a conflict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from stories.models import State
from stories.records import StoredStory, plain, with_editorial
from stories.storyfile import StoryRecord, with_key
from stories.workflow import CONTENT_FIELDS, READER_FIELDS, TRANSITIONS, Held, Plan, import_action
from stories.workflow.permissions import held_fields
from stories.workflow.transitions import refusal

# The parts of a story file whose value is the file's unless a person decided otherwise, by
# file key, with the story fields (``editor_touched``, ``READER_FIELDS``) each stands for.
SOURCE_PARTS: dict[str, tuple[str, ...]] = {
    key: (attr, "provider_name") if attr == "provider" else (attr,)
    for key, attr in StoryRecord.FIELDS.items()
    if attr in CONTENT_FIELDS or attr in ("images", "related")
} | {"body": ("body",)}
EDITORIAL_PARTS = ("quality", "heat", "topics")
KEY_FIELDS = SOURCE_PARTS | {name: (name,) for name in (*EDITORIAL_PARTS, "published")}
# Hashes of superseded files remembered per story (one article under many names in one batch).
SUPERSEDED_KEPT = 16


@dataclass(frozen=True)
class Importer:
    """Who is importing, as far as the rules care: the system and moderators may publish."""

    may_publish: bool


def new_story_state(record: StoryRecord, importer: Importer) -> str:
    """A new story is published when its file says so and the importer may publish; otherwise
    it waits in review. Creating a story is not a transition: this is its first state."""
    return State.PUBLISHED if record.published and importer.may_publish else State.IN_REVIEW


def _part_value(record: StoryRecord, part: str) -> tuple[bool, Any]:
    """Whether the file has ``part``, and its value (the body is always there)."""
    if part == "body":
        return True, record.body
    return record.has(part), record.get(part)


def _take_part(record: StoryRecord, source: StoryRecord, part: str) -> StoryRecord:
    """``record`` with ``part`` as ``source`` has it (present with its value, or absent)."""
    if part == "body":
        return replace(record, body=source.body)
    attr = StoryRecord.FIELDS[part]
    if source.has(part):
        return with_key(record, part, **{attr: getattr(source, attr)})
    return replace(record, keys=tuple(k for k in record.keys if k != part), **{attr: None})


@dataclass
class _Decision:
    """The decision as it is made, part by part."""

    stored: StoredStory
    record: StoryRecord
    held_fields: frozenset[str]
    overwrite: bool
    source: StoryRecord  # the file's record, with the parts it may not change as the story has them
    conflicts: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # editor_touched fields the file takes over
    kept: dict[str, Any] = field(default_factory=dict)  # editorial values kept against the file
    action: str | None = None

    def keep(self, part: str, *, held: bool = False) -> None:
        self.conflicts.append(part)
        if held:
            self.held.append(part)
        if part not in EDITORIAL_PARTS:
            self.source = _take_part(self.source, self.stored.base, part)

    def source_parts(self) -> None:
        touched = self.stored.touched
        for part, fields in SOURCE_PARTS.items():
            if _part_value(self.record, part) == _part_value(self.stored.base, part):
                continue
            if self.held_fields.intersection(fields):
                self.keep(part, held=True)
            elif not touched.intersection(fields) or self.overwrite:
                self.released += [name for name in fields if name in touched]
            elif _part_value(self.record, part)[0]:
                self.keep(part)
            else:  # the file says nothing of a value a person decided
                self.source = _take_part(self.source, self.stored.base, part)

    def editorial_parts(self) -> None:
        stored, record = self.stored, self.record
        for name in EDITORIAL_PARTS:
            if name == "topics":
                ours, theirs = tuple(stored.current.topics or ()), tuple(record.topics or ())
            else:
                ours, theirs = getattr(stored, name), getattr(record, name)
            if name in self.held_fields and theirs != ours:
                self.keep(name, held=True)
                self.kept[name] = ours
            elif name not in stored.touched:
                continue
            elif record.has(name) and self.overwrite:
                self.released.append(name)
            else:
                if record.has(name) and theirs != ours:
                    self.keep(name)
                self.kept[name] = ours

    def published_flag(self, importer: Importer, now: dt.datetime) -> None:
        stored, record = self.stored, self.record
        if not record.has("published"):
            return
        touched = "published" in stored.touched
        if touched and not self.overwrite:
            if bool(record.published) != (stored.state == State.PUBLISHED):
                self.conflicts.append("published")
            return
        flipped = touched or bool(record.published) != bool(stored.file_published)
        if flipped and not record.published and "published" in self.held_fields:
            self.keep("published", held=True)  # taking a story off the reader site is the moderators'
            return
        if touched:
            self.released.append("published")
        if flipped:
            self.action = import_action(
                stored.state, published=bool(record.published), may_publish=importer.may_publish
            )
        if self.action is not None and refusal(
            title=stored.title, state=stored.state, action=self.action, expire_at=stored.expire_at, now=now
        ):
            self.action = None
            self.conflicts.append("published")


def superseded_after(stored: StoredStory, new_hash: str, *, same_run: bool) -> list[str]:
    """Hashes of files that a later file of the same run replaced (e.g. one article filed under
    two names in one batch), so that importing that batch again changes nothing. A file
    replaced by a later run is not remembered: importing it again is a real change."""
    if not same_run:
        return []
    seen = [h for h in stored.superseded_hashes if h != new_hash]
    if stored.source_hash and stored.source_hash != new_hash and stored.source_hash not in seen:
        seen.append(stored.source_hash)
    return seen[-SUPERSEDED_KEPT:]


def _held_values(decision: _Decision) -> tuple[Held, ...]:
    return tuple(
        Held(
            key=part,
            field=KEY_FIELDS.get(part, (part,))[0],
            before=plain(_part_value(decision.stored.base, part)[1]),
            after=plain(_part_value(decision.record, part)[1]),
        )
        for part in decision.held
    )


def kept_and_proposed(stored: StoredStory, record: StoryRecord, part: str) -> tuple[Any, Any]:
    """A conflicting part's value as the story kept it and as the file proposed it, JSON-safe."""
    if part == "published":
        return stored.state == State.PUBLISHED, bool(record.published)
    if part == "topics":
        return list(stored.current.topics or ()), list(record.topics or ())
    if part in EDITORIAL_PARTS:
        return getattr(stored, part), getattr(record, part)
    return plain(_part_value(stored.base, part)[1]), plain(_part_value(record, part)[1])


def take_part(record: StoryRecord, source: StoryRecord, part: str) -> StoryRecord:
    """``record`` with the file key ``part`` as ``source`` has it (present with its value, or absent)."""
    return _take_part(record, source, part)


def _changed_parts(before: StoryRecord, after: StoryRecord) -> frozenset[str]:
    logos = [record.provider.images if record.provider else None for record in (before, after)]
    return frozenset(
        name
        for name, changed in (
            ("images", before.images != after.images),
            ("provider_images", logos[0] != logos[1]),
            ("related", before.related != after.related),
        )
        if changed
    )


def reconcile(
    stored: StoredStory,
    record: StoryRecord,
    importer: Importer,
    *,
    overwrite: bool = False,
    source_hash: str = "",
    same_run: bool = False,
    now: dt.datetime,
) -> Plan:
    """What ``record`` (whose bytes hash to ``source_hash``) may change on ``stored``; see the module
    docstring. ``same_run``: this run already wrote the story; ``now`` decides whether it expired."""
    if source_hash and source_hash in stored.superseded_hashes:
        # A version of this story that a later file has replaced (e.g. one article filed under
        # two names in the batch): applying it again would flip the story back.
        return Plan(quiet=True)
    held = held_fields(stored.state, moderator=importer.may_publish, fields=READER_FIELDS)
    decision = _Decision(
        stored=stored, record=record, held_fields=frozenset(held), overwrite=overwrite, source=record
    )
    decision.source_parts()
    decision.editorial_parts()
    decision.published_flag(importer, now)
    source, kept, action = decision.source, decision.kept, decision.action
    after = with_editorial(
        source,
        state=TRANSITIONS[action].target if action else stored.state,
        quality=kept.get("quality", source.quality),
        heat=kept.get("heat", source.heat),
        topics=kept.get("topics", source.topics or ()),
        file_published=source.published,
    )
    touched = tuple(name for name in stored.editor_touched if name not in decision.released)
    new_hash = stored.source_hash if decision.held else source_hash
    topics = tuple(after.topics or ())
    return Plan(
        source=source,
        after=after,
        parts=_changed_parts(stored.current, after),
        action=action,
        quality=after.quality if after.has("quality") else record.quality,
        heat=after.heat if after.has("heat") else record.heat,
        topics=topics if topics != tuple(stored.current.topics or ()) else None,
        touched=touched if touched != stored.editor_touched else None,
        bookkeeping={
            "source_hash": new_hash,
            "superseded_hashes": superseded_after(stored, new_hash, same_run=same_run),
        },
        conflicts=tuple(decision.conflicts),
        held=_held_values(decision),
        quiet=after == stored.current and action is None and touched == stored.editor_touched,
    )
