"""Stories, their topics, related coverage and images.

Source fields mirror the story file format (see ``stories/storyfile/``);
``layout`` and ``extra`` keep what the format carries beyond our columns (key
order, keys we do not model) so that export reproduces a file exactly. They hold
formatting only: what drives a decision has a column of its own
(``Story.file_published``, ``Story.superseded_hashes``, ``Image.origin``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, models
from django.db.models import Count, F, Q, Window
from django.urls import reverse
from django.utils import timezone

from providers.models import Provider
from stories.fields import HttpURLField
from stories.storyfile import ImageRecord, RelatedRecord, StoryRecord
from stories.validators import (
    count_validators,
    score_validators,
    validate_one_line,
    validate_topic_name,
)

from .orders import EARLIEST_READABLE, LATEST_READABLE, READER_ORDERS, reader_indexes


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"


class Topic(models.Model):
    name = models.CharField(max_length=200, unique=True, validators=[validate_topic_name])
    slug = models.SlugField(max_length=220, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("stories:topic", kwargs={"slug": self.slug})


STORY_DATE_FIELDS = ("published_at", "go_live_at", "expire_at")


def readable_dates(*fields: str) -> Q:
    """Rows whose ``fields`` are empty or dates Python can hold."""
    condition = Q()
    for name in fields:
        condition &= Q(**{f"{name}__isnull": True}) | Q(
            **{f"{name}__gte": EARLIEST_READABLE, f"{name}__lte": LATEST_READABLE}
        )
    return condition


def unreadable_dates(*fields: str) -> Q:
    """Rows with a date of ``fields`` that Python cannot hold: the negation of ``readable_dates``,
    written as ranges so that an index (``story_unreadable``, a partial one) can answer it."""
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__lt": EARLIEST_READABLE}) | Q(**{f"{name}__gt": LATEST_READABLE})
    return condition


def live_condition(now: datetime) -> Q:
    """Published, inside the go-live/expiry window, and loadable."""
    return (
        Q(state=State.PUBLISHED)
        & (Q(go_live_at__isnull=True) | Q(go_live_at__lte=now))
        & (Q(expire_at__isnull=True) | Q(expire_at__gt=now))
        & readable_dates(*STORY_DATE_FIELDS)
    )


class StoryQuerySet(models.QuerySet):
    def published(self) -> StoryQuerySet:
        return self.filter(state=State.PUBLISHED)

    def readable(self) -> StoryQuerySet:
        """Stories whose dates Python can hold (see ``readable_dates``)."""
        return self.filter(readable_dates(*STORY_DATE_FIELDS))

    def unreadable(self) -> StoryQuerySet:
        """The others: only their ids may be loaded, to report them."""
        return self.filter(unreadable_dates(*STORY_DATE_FIELDS))

    def live(self, now=None) -> StoryQuerySet:
        """Published and inside the go-live/expiry window, whether or not a scheduler ran."""
        return self.filter(live_condition(now or timezone.now()))

    def in_reader_order(self, name: str = "new") -> StoryQuerySet:
        """Newest first (``hot``, ``top``: by heat or quality, then newest), as an index serves it."""
        return self.order_by(*READER_ORDERS[name].order_by())

    def containing(self, text: str) -> StoryQuerySet:
        """Stories whose title, excerpt or provider name contains ``text`` (any case).

        Each part can use its own trigram index on PostgreSQL (migration ``stories/0015``
        and ``providers/0004``): the providers are looked up first (one query), so the
        condition stays on the story table alone and the planner can OR three index scans.
        """
        providers = list(Provider.objects.filter(name__icontains=text).values_list("pk", flat=True))
        matches = Q(title__icontains=text) | Q(excerpt__icontains=text)
        return self.filter(matches | Q(provider_id__in=providers) if providers else matches)

    def with_cards(self, *, topic_limit: int | None = None) -> StoryQuerySet:
        """Everything a story card shows, fetched in a fixed number of queries.

        With ``topic_limit``, only a story's first topics are fetched, into the
        list ``shown_story_topics``, each carrying ``topic_total``, the number of
        topics the story has.
        """
        story_topics = StoryTopic.objects.select_related("topic")
        if topic_limit is None:
            topics = models.Prefetch("story_topics", queryset=story_topics)
        else:
            first = story_topics.annotate(topic_total=Window(Count("pk"), partition_by=[F("story_id")]))
            topics = models.Prefetch(
                "story_topics", queryset=first[:topic_limit], to_attr="shown_story_topics"
            )
        return self.select_related("provider").prefetch_related(topics, lead_images_prefetch())


# A filter offers at most this many story types.
TYPES_SHOWN = 50


def story_types(limit: int = TYPES_SHOWN) -> list[str]:
    """The distinct story types, in order, at most ``limit`` of them.

    The type is free text in the story file, so the values are read from the data, but
    never with a ``DISTINCT`` over every row: a recursive query asks the type index for
    the next larger value, one index probe per type (a "loose index scan"), on
    PostgreSQL and SQLite alike.
    """
    table = connection.ops.quote_name(Story._meta.db_table)
    column = connection.ops.quote_name(Story._meta.get_field("type").column)
    sql = f"""
        WITH RECURSIVE types(value, n) AS (
            SELECT MIN({column}), 1 FROM {table} WHERE {column} > %s
            UNION ALL
            SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > types.value), types.n + 1
            FROM types WHERE types.value IS NOT NULL AND types.n < %s
        )
        SELECT value FROM types WHERE value IS NOT NULL
    """  # noqa: S608 - names from the model's metadata, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, ["", limit])
        return [row[0] for row in cursor.fetchall()]


def lead_images_prefetch() -> models.Prefetch:
    """The one prefetch that feeds ``Story.lead_image`` without a query per story."""
    return models.Prefetch("images", queryset=Image.objects.filter(role=Image.Role.LEAD))


# URL columns are nullable on purpose: the story format distinguishes an absent
# key, ``null`` and a value, and export must give back exactly what came in.


class Story(models.Model):
    # Identity: see stories.storyfile.identity_key_for().
    identity_key = models.CharField(max_length=64, unique=True, editable=False)

    category = models.CharField(max_length=100, blank=True, validators=[validate_one_line])
    title = models.CharField(max_length=1000, validators=[validate_one_line])
    excerpt = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True, help_text="publishedDateTime in the file.")
    web_url = HttpURLField(null=True, blank=True)  # noqa: DJ001
    original_url = HttpURLField(null=True, blank=True)  # noqa: DJ001
    amp_web_url = HttpURLField(null=True, blank=True)  # noqa: DJ001
    cdn_amp_web_url = HttpURLField(null=True, blank=True)  # noqa: DJ001
    type = models.CharField(max_length=40, blank=True, validators=[validate_one_line])
    quality = models.IntegerField(null=True, blank=True, validators=score_validators)
    heat = models.IntegerField(null=True, blank=True, validators=score_validators)
    provider = models.ForeignKey("providers.Provider", on_delete=models.PROTECT, related_name="stories")
    provider_name = models.CharField(
        max_length=300,
        blank=True,
        validators=[validate_one_line],
        help_text="Provider name as the file gives it.",
    )
    topics = models.ManyToManyField(Topic, through="StoryTopic", related_name="stories", blank=True)
    featured_content = models.TextField(blank=True, help_text="Raw HTML from the file. Never rendered as is.")
    secured = models.TextField(blank=True, help_text="Opaque; kept verbatim.")
    body = models.TextField(blank=True, help_text="Text after the front matter.")
    layout = models.JSONField(default=dict, blank=True, editable=False)
    extra = models.JSONField(default=dict, blank=True, editable=False)
    file_published = models.BooleanField(
        null=True,
        blank=True,
        editable=False,
        help_text="The file's published flag when it was last imported (empty: the file had none). "
        "A re-import moves the state only when the flag flips against it.",
    )

    # Workflow
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_REVIEW)
    go_live_at = models.DateTimeField(null=True, blank=True)
    expire_at = models.DateTimeField(null=True, blank=True)
    state_comment = models.TextField(blank=True, help_text="Reason or comment of the last transition.")
    editor_touched = models.JSONField(
        default=list, blank=True, editable=False, help_text="Editorial fields an editor has changed."
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    # Import bookkeeping
    source_hash = models.CharField(max_length=64, blank=True, editable=False)
    superseded_hashes = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Hashes of files a later file of the same import replaced (one article under two "
        "names): importing that batch again changes nothing.",
    )
    draft_revision = models.ForeignKey(
        "stories.Revision",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="A change to this published story that waits for a moderator (models/revisions.py).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "stories"
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-published_at"], name="story_state_published"),
            models.Index(fields=["-published_at"], name="story_published_at"),
            models.Index(fields=["-heat"], name="story_heat"),
            models.Index(fields=["-quality"], name="story_quality"),
            models.Index(fields=["provider", "-published_at"], name="story_provider_published"),
            models.Index(fields=["source_hash"], name="story_source_hash"),
            # The next scheduled go-live or expiry of a published story (stories.reader.version).
            # Not partial: SQLite uses a partial index only for a literal state, never a parameter.
            models.Index(fields=["state", "go_live_at"], name="story_state_go_live"),
            models.Index(fields=["state", "expire_at"], name="story_state_expiry"),
            # Reader listings, feeds and sitemaps (models/orders.py). Whether a published story is
            # live also depends on the clock: those conditions filter the rows the index yields.
            *reader_indexes(Q(state=State.PUBLISHED)),
            # The filters' type list walks this index (story_types).
            models.Index(fields=["type"], name="story_type"),
            # Normally empty: the admin and the queue name these rows on every page.
            models.Index(
                fields=["id"], condition=unreadable_dates(*STORY_DATE_FIELDS), name="story_unreadable"
            ),
        ]
        permissions = [
            ("publish_story", "Can publish, unpublish, reject and schedule stories"),
            ("submit_story", "Can submit stories for review"),
            ("import_stories", "Can import story files"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("stories:detail", kwargs={"pk": self.pk})

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.state == State.PUBLISHED
            and (self.go_live_at is None or self.go_live_at <= now)
            and (self.expire_at is None or self.expire_at > now)
        )

    @property
    def link_url(self) -> str | None:
        """Where the reader goes to read the article: webUrl, or originalUrl for videos."""
        return self.web_url or self.original_url

    def lead_images(self) -> list[Image]:
        """The story's own images, in order (``lead_images_prefetch`` or any prefetch of
        ``images`` saves the query); provider logos and related coverage's images are not."""
        return [image for image in self.images.all() if image.role == Image.Role.LEAD]

    @property
    def lead_image(self) -> Image | None:
        """The picture that stands for the story: its first own image."""
        leads = self.lead_images()
        return leads[0] if leads else None

    def topic_names(self) -> list[str]:
        """The story's topic names in order (uses a ``story_topics__topic`` prefetch when there is one)."""
        return [story_topic.topic.name for story_topic in self.story_topics.all()]


class StoryTopic(models.Model):
    """A story's topic, in the order the file lists them."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="story_topics")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="story_topics")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["story", "topic"], name="story_topic_unique")]
        indexes = [models.Index(fields=["topic", "story"], name="storytopic_topic_story")]

    def __str__(self) -> str:
        return f"{self.story_id}: {self.topic_id} (#{self.position})"


class RelatedLink(models.Model):
    """Other coverage of the same story, in the file's order."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="related_links")
    position = models.PositiveIntegerField(default=0, validators=count_validators)
    title = models.CharField(max_length=1000, blank=True, validators=[validate_one_line])
    excerpt = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    web_url = HttpURLField(null=True, blank=True)  # noqa: DJ001
    original_url = HttpURLField(null=True, blank=True)  # noqa: DJ001
    amp_web_url = HttpURLField(null=True, blank=True)  # noqa: DJ001
    cdn_amp_web_url = HttpURLField(null=True, blank=True)  # noqa: DJ001
    type = models.CharField(max_length=40, blank=True, validators=[validate_one_line])
    provider = models.ForeignKey(
        "providers.Provider", on_delete=models.PROTECT, null=True, blank=True, related_name="related_links"
    )
    provider_name = models.CharField(max_length=300, blank=True, validators=[validate_one_line])
    quality = models.IntegerField(null=True, blank=True, validators=score_validators)
    layout = models.JSONField(default=dict, blank=True, editable=False)
    extra = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def link_url(self) -> str | None:
        return self.web_url or self.original_url


class Image(models.Model):
    """An image a story file points at, and our local cached copy of it."""

    class Role(models.TextChoices):
        LEAD = "lead", "Story image"
        RELATED = "related", "Related coverage image"
        PROVIDER = "provider", "Provider logo"

    class CacheStatus(models.TextChoices):
        PENDING = "pending", "Not cached yet"
        CACHED = "cached", "Cached"
        FAILED = "failed", "Failed"

    class Origin(models.TextChoices):
        FETCHED = "fetched", "Fetched from its URL"
        UPLOAD = "upload", "Uploaded by an editor"

    story = models.ForeignKey(Story, on_delete=models.CASCADE, null=True, blank=True, related_name="images")
    related_link = models.ForeignKey(
        RelatedLink, on_delete=models.CASCADE, null=True, blank=True, related_name="images"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.LEAD)
    position = models.PositiveIntegerField(default=0, validators=count_validators)
    url = HttpURLField(blank=True)
    width = models.PositiveIntegerField(null=True, blank=True, validators=count_validators)
    height = models.PositiveIntegerField(null=True, blank=True, validators=count_validators)
    is_cached = models.BooleanField(null=True, blank=True, help_text="isCached as the file gives it.")
    title = models.CharField(max_length=1000, null=True, blank=True, validators=[validate_one_line])  # noqa: DJ001
    layout = models.JSONField(default=dict, blank=True, editable=False)
    extra = models.JSONField(default=dict, blank=True, editable=False)

    # Local cache (stories.images / manage.py cache_images)
    cache_status = models.CharField(max_length=20, choices=CacheStatus.choices, default=CacheStatus.PENDING)
    cache_error = models.TextField(blank=True)
    cached_at = models.DateTimeField(null=True, blank=True)
    local_file = models.ImageField(upload_to="images/", null=True, blank=True)
    local_width = models.PositiveIntegerField(null=True, blank=True)
    local_height = models.PositiveIntegerField(null=True, blank=True)
    thumbnails = models.JSONField(default=dict, blank=True, editable=False)
    origin = models.CharField(
        max_length=20,
        choices=Origin.choices,
        blank=True,
        editable=False,
        help_text="Where the local copy came from (empty: there is none). A re-import keeps an upload.",
    )
    source_url = models.TextField(
        blank=True,
        editable=False,
        help_text="The address the local copy was made from; another URL means the copy is out of date.",
    )

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["cache_status"], name="image_cache_status")]

    def __str__(self) -> str:
        return self.url


def _file_columns(record_type, model) -> tuple[str, ...]:
    """The model's own columns that hold the story file's value of the same name, in the format's order."""
    columns = {f.name for f in model._meta.concrete_fields if not f.is_relation}
    return tuple(attr for attr in record_type.FIELDS.values() if attr in columns)


# What each row keeps of a story file as it is. Everything else the file holds is a relation
# (provider, topics, images, related links), the body, or formatting (``layout``, ``extra``).
STORY_FILE_COLUMNS = _file_columns(StoryRecord, Story)
RELATED_FILE_COLUMNS = _file_columns(RelatedRecord, RelatedLink)
IMAGE_FILE_COLUMNS = _file_columns(ImageRecord, Image)
