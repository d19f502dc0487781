"""Writing a batch's rows fast: new stories in bulk (COPY on PostgreSQL), the rows an updated
file replaces, the lock concurrent imports take turns on, and planner statistics.

New stories are written as tuples straight from the records, no model instances: Django's
per-value work in ``bulk_create`` would cost more than parsing the files. One story or a
thousand go the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections

from stories.models import AuditEntry, Image, RelatedLink, Revision, State, Story, StoryTopic, Topic
from stories.reader import version as reader_version
from stories.snapshots import written_snapshot, written_snapshot_text
from stories.storyfile import ImageRecord, StoryRecord

from .references import References
from .rows import (
    IMAGE_SOURCE_COLUMNS,
    file_published,
    image_rows,
    image_values,
    related_row,
    related_values,
    source_columns,
    story_layout,
)

# The parts of a story besides its row that a file's record rewrites (``write_parts``).
EVERY_PART = frozenset({"images", "provider_images", "related"})
# Any constant works; it names the lock concurrent imports queue on (PostgreSQL advisory lock).
IMPORT_LOCK_KEY = 0x4E57494D
# Columns the import looks rows up by, per table (see refresh_lookup_statistics).
LOOKUP_COLUMNS = {
    Story: ("source_hash", "identity_key"),
    StoryTopic: ("story_id",),
    Image: ("story_id", "related_link_id"),
    RelatedLink: ("story_id",),
}


def take_turns_with_other_imports() -> None:
    """Concurrent imports write one chunk at a time (until the chunk's transaction ends).

    Two chunk transactions that create the same providers, topics or stories in
    different orders would otherwise deadlock on PostgreSQL. Reading, hashing and
    parsing still run concurrently. SQLite needs nothing: its IMMEDIATE
    transactions already admit one writer at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])


def refresh_lookup_statistics() -> None:
    """Give PostgreSQL's planner statistics for the columns the import looks up by.

    Without them, right after a bulk load, ``source_hash IN (...250 hashes)`` is
    planned as a sequential scan (19 ms instead of 1 ms at 10,000 stories, and
    growing with the table). Only these columns: a full ANALYZE of stories also
    evaluates the search index's expression for every sampled row (1.5 s).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, columns in LOOKUP_COLUMNS.items():
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)} ({', '.join(map(quote, columns))})")


class JsonText(str):
    """A JSON column's value given as JSON text already: written as it is."""


def _preparer(field, conn) -> Callable[[Any], Any] | None:
    kind = field.get_internal_type()
    if kind == "JSONField":
        adapt, encoder = conn.ops.adapt_json_value, field.encoder
        return lambda value: str(value) if type(value) is JsonText else adapt(value, encoder)
    if kind == "DateTimeField":
        return conn.ops.adapt_datetimefield_value
    if kind in ("DateField", "TimeField", "DecimalField", "UUIDField", "DurationField"):
        return lambda value: field.get_db_prep_save(value, conn)
    return None


def _copy_rows(sql: str, rows: list[list[Any]], many: bool, context: dict) -> None:
    # Database errors surface as Django's DatabaseError, as they do from execute().
    with context["connection"].wrap_database_errors, context["cursor"].cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


class Rows:
    """Rows for one table, written with one ``executemany`` (COPY on PostgreSQL); unset columns
    get the field default. Foreign keys are given as ids, under the field's name."""

    def __init__(self, model):
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.names = [f.name for f in self.fields]
        self.prepare = [_preparer(f, self.connection) for f in self.fields]
        self.defaults = []
        for f, prep in zip(self.fields, self.prepare, strict=True):
            default = f.get_default()
            self.defaults.append(default if prep is None or default is None else prep(default))
        quote = self.connection.ops.quote_name
        table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in self.fields)
        # Table and column names come from the model and are quoted; values are parameters.
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(self.fields))})"  # noqa: S608
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"
        self.rows: list[dict[str, Any]] = []

    def add(self, **values: Any) -> None:
        self.rows.append(values)

    def add_images(self, images: Sequence[ImageRecord] | None, *, role: str, **owner: int) -> None:
        for position, image in enumerate(images or ()):
            self.add(**image_values(image, role=role, position=position), **owner)

    def write(self) -> None:
        if not self.rows:
            return
        columns = list(zip(self.names, self.prepare, self.defaults, strict=True))
        params = []
        for values in self.rows:
            row = []
            for name, prep, default in columns:
                if name not in values:
                    row.append(default)
                else:
                    value = values[name]
                    row.append(value if prep is None or value is None else prep(value))
            params.append(row)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                # COPY takes many rows several times faster than executemany. Run through the
                # cursor's wrappers so query counters (execute_wrapper) still see it.
                cursor._execute_with_wrappers(self.copy_sql, params, many=True, executor=_copy_rows)
            else:
                cursor.executemany(self.sql, params)
        self.rows = []


@dataclass(frozen=True)
class NewStory:
    """A story file for a story that does not exist yet, and the state it starts in."""

    path: str
    record: StoryRecord
    key: str
    source_hash: str
    state: str


def create_stories(
    new: Sequence[NewStory], *, refs: References, actor_id: int | None, run_id: int | None, now: dt.datetime
) -> dict[str, int]:
    """Write the rows of new stories, their parts and an audit entry each. Returns their ids by identity."""
    refs.create_missing([item.record for item in new])
    stories = Rows(Story)
    domains: dict[str, str | None] = {}
    for item in new:
        provider = refs.provider(item.record.provider)
        domains[item.key] = provider.domain if provider is not None else None
        stories.add(
            **source_columns(item.record, provider)
            | {
                "provider": provider.pk if provider is not None else None,
                "quality": item.record.quality,
                "heat": item.record.heat,
                "identity_key": item.key,
                "state": item.state,
                "source_hash": item.source_hash,
                "created_at": now,
                "updated_at": now,
            }
        )
    stories.write()
    keys = [item.key for item in new]
    ids = dict(Story.objects.filter(identity_key__in=keys).values_list("identity_key", "id"))
    _write_new_parts(new, ids, refs)
    audits = Rows(AuditEntry)
    for item in new:
        audits.add(
            story=ids[item.key],
            story_title=item.record.title,
            actor=actor_id,
            import_run=run_id,
            action=AuditEntry.Action.IMPORT,
            field="state",
            after=item.state,
            comment="Created by import.",
            created_at=now,
        )
    audits.write()
    _first_revisions(new, ids, domains, actor_id=actor_id, run_id=run_id, now=now)
    if any(item.state == State.PUBLISHED for item in new):
        reader_version.changed()
    return ids


def _first_revisions(
    new: Sequence[NewStory],
    ids: dict[str, int],
    domains: dict[str, str | None],
    *,
    actor_id: int | None,
    run_id: int | None,
    now: dt.datetime,
) -> None:
    """Each new story's first revision, from its record: nothing is read back."""
    reason = f"Created by import #{run_id}" if run_id is not None else "Created by import"
    revisions = Rows(Revision)
    for item in new:
        record = item.record
        data = JsonText(
            written_snapshot_text(
                record,
                topics=list(dict.fromkeys(record.topics or ())),
                state=item.state,
                quality=record.quality,
                heat=record.heat,
                source_hash=item.source_hash,
                provider_domain=domains[item.key],
            )
        )
        revisions.add(
            story=ids[item.key], author=actor_id, import_run=run_id, reason=reason, data=data, created_at=now
        )
    revisions.write()


def _write_new_parts(new: Sequence[NewStory], ids: dict[str, int], refs: References) -> None:
    topics, images, links = Rows(StoryTopic), Rows(Image), Rows(RelatedLink)
    related = []
    for item in new:
        story_id, record = ids[item.key], item.record
        for position, name in enumerate(dict.fromkeys(record.topics or ())):
            topics.add(story=story_id, topic=refs.topic(name).pk, position=position)
        images.add_images(record.images, role=Image.Role.LEAD, story=story_id)
        if record.provider is not None:
            images.add_images(record.provider.images, role=Image.Role.PROVIDER, story=story_id)
        for position, link in enumerate(record.related or ()):
            links.add(**related_values(story_id, position, link, refs.provider(link.provider)))
            related.append((story_id, position, link))
    topics.write()
    if related:
        links.write()
        rows = RelatedLink.objects.filter(story_id__in=list(ids.values()))
        rows = rows.values_list("id", "story_id", "position")
        link_ids = {(story_id, position): pk for pk, story_id, position in rows}
        for story_id, position, link in related:
            link_id = link_ids[(story_id, position)]
            images.add_images(link.images, role=Image.Role.RELATED, related_link=link_id)
            if link.provider is not None:
                images.add_images(link.provider.images, role=Image.Role.PROVIDER, related_link=link_id)
    images.write()


def _lead_images(story: Story, record: StoryRecord) -> list[Image]:
    """The lead image rows ``record`` asks for; rows with the same URLs are kept, and with them the
    local cached copies."""
    wanted = image_rows(record.images, role=Image.Role.LEAD, story=story)
    existing = list(Image.objects.filter(story=story, role=Image.Role.LEAD))
    if existing and [i.url for i in existing] == [i.url for i in wanted]:
        for row, image in zip(existing, wanted, strict=True):
            for name in IMAGE_SOURCE_COLUMNS:
                setattr(row, name, getattr(image, name))
        Image.objects.bulk_update(existing, IMAGE_SOURCE_COLUMNS)
        return []
    Image.objects.filter(pk__in=[i.pk for i in existing]).delete()
    return wanted


def write_parts(story: Story, record: StoryRecord, parts: frozenset[str], *, refs: References) -> None:
    """Replace the ``parts`` of ``story`` ("images", "provider_images", "related") with ``record``'s."""
    new_images: list[Image] = []
    if "images" in parts:
        new_images += _lead_images(story, record)
    if "provider_images" in parts:
        Image.objects.filter(story=story, role=Image.Role.PROVIDER).delete()
        logos = record.provider.images if record.provider else None
        new_images += image_rows(logos, role=Image.Role.PROVIDER, story=story)
    if "related" in parts:
        Image.objects.filter(related_link__story=story).delete()
        RelatedLink.objects.filter(story=story).delete()
        links = [
            related_row(story, position, item, refs.provider(item.provider))
            for position, item in enumerate(record.related or ())
        ]
        RelatedLink.objects.bulk_create(links)
        for link, item in zip(links, record.related or (), strict=True):
            new_images += image_rows(item.images, role=Image.Role.RELATED, related_link=link)
            if item.provider is not None:
                new_images += image_rows(item.provider.images, role=Image.Role.PROVIDER, related_link=link)
    if new_images:
        Image.objects.bulk_create(new_images)


class StoryWriter:
    """How the workflow writes a story file's record (``workflow.SourceWriter``) during an import."""

    def __init__(self, refs: References):
        self.refs = refs

    def columns(self, story: Story, source: StoryRecord) -> dict[str, Any]:
        self.refs.warm([source])
        self.refs.create_missing([source])
        provider = self.refs.provider(source.provider) if source.provider is not None else story.provider
        return source_columns(source, provider)

    def quiet_columns(self, story: Story, source: StoryRecord) -> dict[str, Any]:
        return {"layout": story_layout(source, story.provider), "file_published": file_published(source)}

    def write_parts(self, story: Story, source: StoryRecord, parts: frozenset[str]) -> None:
        write_parts(story, source, parts, refs=self.refs)

    def topics(self, names: Sequence[str]) -> list[Topic]:
        return self.refs.topics_named(names)

    def snapshot(self, story: Story, source: StoryRecord, topics: Sequence[str]) -> dict:
        return written_snapshot(
            source,
            topics=topics,
            state=story.state,
            quality=story.quality,
            heat=story.heat,
            editor_touched=story.editor_touched or (),
            source_hash=story.source_hash,
            provider_domain=story.provider.domain if story.provider is not None else None,
            go_live_at=story.go_live_at,
            expire_at=story.expire_at,
        )
