"""A story's audit trail as a readable, escaped table (the change page's History), and who made a change."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from ..models import AuditEntry


def actor_label(entry: AuditEntry) -> str:
    """Who made the change: a person, an import run, or the system (schedules, merges without a person)."""
    if entry.actor_id:
        return entry.actor.get_username()
    return f"import #{entry.import_run_id}" if entry.import_run_id else "system"


def _format_value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return Truncator(str(value)).chars(120)


def render_history(entries) -> str:
    """A readable, escaped table of audit entries."""
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{e.created_at:%Y-%m-%d %H:%M}",
                actor_label(e),
                e.action.replace("_", " "),
                e.field,
                _format_value(e.before),
                _format_value(e.after),
                e.comment,
            )
            for e in entries
        ),
    )
    if not rows:
        return "No changes recorded yet."
    return format_html(
        '<table class="audit-history"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Field</th>'
        "<th>Before</th><th>After</th><th>Comment</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def story_history(story) -> str:
    """The change page's History: every audit entry of the story, newest first."""
    if not story.pk:
        return "—"
    entries = AuditEntry.objects.filter(story=story).select_related("actor").order_by("-created_at", "-id")
    return render_history(entries)
