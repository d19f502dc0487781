"""The audit trail in the admin is readable and never editable, not even by a superuser."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stories import workflow
from stories.models import AuditEntry, State
from tests.conftest import make_story

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(moderator):
    story = make_story(state=State.IN_REVIEW, title="Audited story")
    workflow.transition(story, action="reject", actor=moderator, comment="Duplicate")
    return AuditEntry.objects.get(story=story)


def test_audit_entries_are_listed_for_editors(editor_client, entry):
    body = editor_client.get(reverse("admin:stories_auditentry_changelist")).content.decode()
    assert "Audited story" in body and "Duplicate" in body and "morgan" in body


def test_no_one_can_add_change_or_delete_audit_entries(admin_client, entry):
    assert admin_client.get(reverse("admin:stories_auditentry_add")).status_code == 403
    change = admin_client.post(
        reverse("admin:stories_auditentry_change", args=[entry.pk]),
        {"comment": "rewritten", "action": "publish"},
    )
    assert change.status_code == 403
    delete = admin_client.post(reverse("admin:stories_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    assert delete.status_code == 403
    entry.refresh_from_db()
    assert (entry.comment, entry.action) == ("Duplicate", "reject")


def test_audit_changelist_offers_no_delete_action(admin_client, entry):
    body = admin_client.get(reverse("admin:stories_auditentry_changelist")).content.decode()
    assert "delete_selected" not in body
