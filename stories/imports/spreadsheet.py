"""Spreadsheet round trip of stories through django-import-export.

Export: one row per story with its identity (``id``, ``identity_key``), a few
read-only columns for orientation (title, provider, type, publication time,
link), the editorial columns and ``version``.

Import changes editorial fields only: ``state`` (or ``published``),
``quality``, ``heat`` and ``topics``. Every change goes through
``stories.workflow`` with the importing user as actor, so permissions, audit
entries, ``editor_touched`` and optimistic locking hold exactly as in the
admin: each row must carry the ``version`` it was exported with, and a row
whose story changed since is refused. Other columns are read-only and ignored
on import; rows naming a story that does not exist are refused (a spreadsheet
never creates stories). Topics are names separated by ``;`` and must exist.

Text cells are escaped against formula injection on export and unescaped on
import (``stories.imports.spreadsheet_files``), so a round trip changes nothing.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import cached_property
from import_export import fields, resources, widgets

from stories import workflow
from stories.models import ImportRun, ImportRunStory, State, Story, Topic
from stories.storyfile import ID_MAX, INT_MAX, INT_MIN, SCORE_MAX, SCORE_MIN, SPREADSHEET_TOPIC_SEPARATOR
from stories.workflow.drafts import edit

from .outcomes import ImportOutcome
from .spreadsheet_files import escape_formula, unescape_formula

TOPIC_SEPARATOR = SPREADSHEET_TOPIC_SEPARATOR
EDITORIAL_COLUMNS = ("state", "published", "quality", "heat", "topics")
NEVER_CREATES = "a spreadsheet import never creates stories."



class TopicNamesWidget(widgets.Widget):
    """Topics as ``"AI; Computer Vision"``, in the story's order."""

    def render(self, value: Any, obj: Story | None = None, **kwargs) -> str:
        if obj is None:
            return ""
        return f"{TOPIC_SEPARATOR} ".join(obj.topic_names())

    def clean(self, value: Any, row=None, **kwargs) -> list[str]:
        if value is None:
            return []
        names = [n.strip() for n in str(value).split(TOPIC_SEPARATOR)]
        return list(dict.fromkeys(n for n in names if n))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def whole_number(value: Any, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int:
    """A cell as an integer the column can hold: ``85``, ``"85"`` and ``85.0`` are 85.

    Raises ValueError for anything else, ``1e12``, ``inf``, ``nan`` and ``2.5`` included.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(value)
    if not minimum <= number <= maximum:
        raise ValueError(value)
    return int(number)


def _read_version(row, wanted: dict[str, Any], errors: dict[str, str]) -> None:
    raw_version = row.get("version")
    try:
        wanted["version"] = whole_number(raw_version, minimum=0)
    except ValueError:
        errors["version"] = (
            "The version column is required (it comes with the export)."
            if _blank(raw_version)
            else f"Not a version: {raw_version!r}."
        )


def _read_scores(row, wanted: dict[str, Any], errors: dict[str, str]) -> None:
    for name in ("quality", "heat"):
        if name not in row:
            continue
        if _blank(row[name]):
            wanted[name] = None
            continue
        try:
            wanted[name] = whole_number(row[name], minimum=SCORE_MIN, maximum=SCORE_MAX)
        except ValueError:
            errors[name] = (
                f"{name.capitalize()} must be a whole number from {SCORE_MIN:,} to {SCORE_MAX:,}, "
                f"not {row[name]!r}."
            )


def _wanted_state(instance: Story, row, errors: dict[str, str]) -> str | None:
    """The state a row asks for: ``state`` wins when it changed; ``published`` (true/false) applies
    when only it changed."""
    state_target: str | None = None
    if "state" in row and not _blank(row["state"]):
        value = str(row["state"]).strip()
        by_label = {label.lower(): code for code, label in State.choices}
        state_target = value if value in State.values else by_label.get(value.lower())
        if state_target is None:
            errors["state"] = f"Unknown state {value!r}: use one of {', '.join(State.values)}."
    published: bool | None = None
    if "published" in row and not _blank(row["published"]):
        try:
            published = widgets.BooleanWidget().clean(row["published"])
        except ValueError:
            errors["published"] = f"published must be true or false, not {row['published']!r}."
    published_changed = published is not None and published != (instance.state == State.PUBLISHED)
    if state_target is not None and state_target != instance.state:
        if published_changed and published != (state_target == State.PUBLISHED):
            errors["published"] = f"published={published} contradicts state {state_target!r}."
        return state_target
    if published_changed:
        return State.PUBLISHED if published else State.IN_REVIEW
    return None


def _read_state(instance: Story, row, wanted: dict[str, Any], errors: dict[str, str]) -> None:
    target = _wanted_state(instance, row, errors)
    if target is None or target == instance.state:
        return
    action = workflow.action_between(instance.state, target)
    if action is None:
        errors["state"] = (
            f"Cannot move a story from {instance.get_state_display().lower()} to "
            f"{State(target).label.lower()}."
        )
    else:
        wanted["action"] = action


class StoryResource(resources.ModelResource):
    id = fields.Field(attribute="id", column_name="id", widget=widgets.IntegerWidget())
    identity_key = fields.Field(attribute="identity_key", column_name="identity_key", readonly=True)
    title = fields.Field(attribute="title", column_name="title", readonly=True)
    provider = fields.Field(attribute="provider__name", column_name="provider", readonly=True)
    type = fields.Field(attribute="type", column_name="type", readonly=True)
    published_at = fields.Field(
        attribute="published_at", column_name="published_at", readonly=True, widget=widgets.DateTimeWidget()
    )
    web_url = fields.Field(attribute="link_url", column_name="url", readonly=True)
    state = fields.Field(attribute="state", column_name="state")
    published = fields.Field(column_name="published", readonly=True)
    quality = fields.Field(attribute="quality", column_name="quality", widget=widgets.IntegerWidget())
    heat = fields.Field(attribute="heat", column_name="heat", widget=widgets.IntegerWidget())
    topics = fields.Field(column_name="topics", readonly=True, widget=TopicNamesWidget())
    version = fields.Field(attribute="version", column_name="version", widget=widgets.IntegerWidget())

    class Meta:
        model = Story
        fields = (
            "id", "identity_key", "title", "provider", "type", "published_at", "web_url",
            "state", "published", "quality", "heat", "topics", "version",
        )
        export_order = fields
        import_id_fields = ("id",)
        use_transactions = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.import_run: ImportRun | None = None

    # --- export ---------------------------------------------------------------------------

    def filter_export(self, queryset, **kwargs):
        # One query per table whatever the number of rows.
        return queryset.select_related("provider").prefetch_related("story_topics__topic")

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        return escape_formula(value) if isinstance(value, str) else value

    def dehydrate_topics(self, story: Story) -> str:
        return self.fields["topics"].widget.render(None, obj=story)

    def dehydrate_published(self, story: Story) -> bool:
        return story.state == State.PUBLISHED

    # --- import ---------------------------------------------------------------------------

    def get_import_fields(self):
        # What the preview shows per row: identity, title for orientation, the editorial columns.
        shown = ("id", "title", "state", "quality", "heat", "topics", "version")
        return [self.fields[name] for name in shown]

    def get_user_visible_fields(self):
        return [self.fields[name] for name in ("id", "identity_key", *EDITORIAL_COLUMNS, "version")]

    @cached_property
    def exported_columns(self) -> frozenset[str]:
        return frozenset(self.get_export_headers())

    def before_import_row(self, row, **kwargs):
        # Undo the export's formula escaping in the columns it writes; added columns are as typed.
        for name in self.exported_columns.intersection(row):
            row[name] = unescape_formula(row[name])

    def before_import(self, dataset, **kwargs):
        user = kwargs.get("user")
        self.actor = user if getattr(user, "is_authenticated", False) else None
        if self.actor is None:
            raise PermissionDenied("A spreadsheet import needs a signed-in user.")
        headers = set(dataset.headers or [])
        if "id" not in headers and "identity_key" not in headers:
            raise ValidationError("The file needs an id or identity_key column to find each story.")
        if "version" not in headers:
            raise ValidationError(
                "The file needs the version column from its export, so that a story changed "
                "since the export is not overwritten."
            )
        self.import_run = ImportRun.objects.create(
            started_by=self.actor,
            via=ImportRun.Via.SPREADSHEET,
            source=kwargs.get("file_name") or "",
        )

    def get_instance(self, instance_loader, row):
        queryset = Story.objects.prefetch_related("story_topics__topic")
        raw_id, key = row.get("id"), row.get("identity_key")
        if not _blank(raw_id):
            try:
                story_id = whole_number(raw_id, minimum=1, maximum=ID_MAX)
            except ValueError:
                raise ValidationError({"id": f"Not a story id: {raw_id!r}."}) from None
            story = queryset.filter(pk=story_id).first()
            if story is None:
                raise ValidationError({"id": f"No story with id {story_id}; {NEVER_CREATES}"})
            if not _blank(key) and str(key).strip() != story.identity_key:
                raise ValidationError({"identity_key": f"Story {story_id} has a different identity_key."})
            return story
        if not _blank(key):
            story = queryset.filter(identity_key=str(key).strip()).first()
            if story is None:
                raise ValidationError(
                    {"identity_key": f"No story with identity_key {key}; {NEVER_CREATES}"}
                )
            return story
        raise ValidationError({"id": "The row has neither an id nor an identity_key."})

    def get_or_init_instance(self, instance_loader, row):
        return self.get_instance(instance_loader, row), False

    def import_instance(self, instance: Story, row, **kwargs) -> None:
        """Read the wanted editorial values into ``instance._wanted``; the story itself is untouched."""
        errors: dict[str, str] = {}
        wanted: dict[str, Any] = {}
        _read_version(row, wanted, errors)
        _read_scores(row, wanted, errors)
        self._read_topics(row, wanted, errors)
        _read_state(instance, row, wanted, errors)
        wanted["comment"] = "" if _blank(row.get("comment")) else str(row["comment"]).strip()

        if errors:
            raise ValidationError(errors)
        instance._wanted = wanted
        # A row that changes nothing is skipped however old it is; one that changes something
        # must come from the story's current version, or it would undo someone else's work.
        if (self._changes(instance) or "action" in wanted) and wanted["version"] != instance.version:
            raise ValidationError(
                {"version": f"Stale row: the story is at version {instance.version}, the row was exported "
                 f"at version {wanted['version']}. Export again and redo the change."}
            )

    def _read_topics(self, row, wanted: dict[str, Any], errors: dict[str, str]) -> None:
        if "topics" not in row:
            return
        names = self.fields["topics"].widget.clean(row["topics"])
        found = {t.name: t for t in Topic.objects.filter(name__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            errors["topics"] = "Unknown topic: " + ", ".join(missing) + "."
        else:
            wanted["topics"] = [found[n] for n in names]

    def _changes(self, instance: Story) -> dict[str, Any]:
        wanted = getattr(instance, "_wanted", {})
        edits: dict[str, Any] = {}
        for name in ("quality", "heat"):
            if name in wanted and wanted[name] != getattr(instance, name):
                edits[name] = wanted[name]
        if "topics" in wanted:
            current = [st.topic_id for st in instance.story_topics.all()]
            if [t.pk for t in wanted["topics"]] != current:
                edits["topics"] = wanted["topics"]
        return edits

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors:
            return False
        wanted = getattr(instance, "_wanted", {})
        return not self._changes(instance) and "action" not in wanted

    def save_instance(self, instance: Story, is_create: bool, row, **kwargs) -> None:
        """Apply the row through the workflow; any refusal undoes the whole row."""
        wanted = instance._wanted
        edits = self._changes(instance)
        comment = wanted["comment"] or "Spreadsheet import"
        stage = next(iter(edits), "state")
        try:
            with transaction.atomic():
                if edits:
                    edit(
                        instance,
                        actor=self.actor,
                        expected_version=wanted["version"],
                        comment=comment,
                        import_run=self.import_run,
                        **edits,
                    )
                if "action" in wanted:
                    stage = "state"
                    workflow.transition(
                        instance,
                        action=wanted["action"],
                        actor=self.actor,
                        comment=wanted["comment"],
                        expected_version=instance.version if edits else wanted["version"],
                        import_run=self.import_run,
                    )
        except PermissionDenied as exc:
            raise ValidationError({stage: str(exc) or "Permission denied."}) from None
        except workflow.StaleStoryError as exc:
            raise ValidationError({"version": str(exc)}) from None
        except workflow.WorkflowError as exc:
            raise ValidationError({stage: str(exc)}) from None
        if self.import_run is not None:
            # Links the run to the stories it changed; what changed is in the audit entries.
            ImportRunStory.objects.create(
                run=self.import_run,
                story=instance,
                path=f"row {kwargs.get('row_number', '')}".strip(),
                outcome=ImportOutcome.UPDATED,
            )
        # Show the values as stored in the preview's diff.
        instance.refresh_from_db()
        if hasattr(instance, "_prefetched_objects_cache"):
            instance._prefetched_objects_cache.clear()

    def save_m2m(self, instance, row, **kwargs) -> None:
        # Topics are written by the workflow in save_instance().
        return None

    def after_import(self, dataset, result, **kwargs):
        run = self.import_run
        if run is None:
            return
        totals = result.totals
        run.updated = totals.get("update", 0)
        run.unchanged = totals.get("skip", 0)
        run.failed = totals.get("error", 0) + totals.get("invalid", 0)
        run.failures = [
            {"path": f"row {row.number}", "reason": "; ".join(
                f"{name}: {' '.join(msgs)}" for name, msgs in row.error_dict.items()
            )}
            for row in result.invalid_rows
        ] + [
            {"path": f"row {row.number}", "reason": str(row.errors[0].error)}
            for row in result.error_rows
        ]
        run.status = ImportRun.Status.FINISHED
        run.finished_at = timezone.now()
        run.save()
