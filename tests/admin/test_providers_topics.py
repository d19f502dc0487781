"""Providers and topics in the admin: a provider's stories, and merging duplicates."""

from __future__ import annotations

import pytest
from django.urls import reverse

from providers.models import Provider
from stories.models import AuditEntry, RelatedLink, State, Story, Topic
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db


def merge_post(items, survivor=None) -> dict:
    data = {"action": "merge_selected", "index": "0", "_selected_action": [str(i.pk) for i in items]}
    if survivor is not None:
        data.update({"apply": "1", "survivor": str(survivor.pk)})
    return data


def test_provider_page_lists_its_stories(moderator_client):
    provider = make_provider(name="Daily Planet")
    make_story(provider=provider, title="Planet <i>story</i>", state=State.IN_REVIEW)
    make_story(title="Someone else's story")
    body = moderator_client.get(
        reverse("admin:providers_provider_change", args=[provider.pk])
    ).content.decode()
    assert "Planet &lt;i&gt;story&lt;/i&gt;" in body
    assert "Someone else" not in body
    assert f"provider__id__exact={provider.pk}" in body


def test_merging_providers_moves_stories_and_related_links_and_audits(moderator_client, moderator):
    keep = make_provider(name="CBS News", domain="cbsnews.com")
    dupe = make_provider(name="CBS", domain="www.cbsnews.com")
    moved = make_story(provider=dupe, title="Moved")
    stays = make_story(provider=keep, related=0)
    link = RelatedLink.objects.create(story=stays, title="Coverage", provider=dupe)

    page = moderator_client.post(reverse("admin:providers_provider_changelist"), merge_post([keep, dupe]))
    assert page.status_code == 200 and 'name="survivor"' in page.content.decode()
    assert Provider.objects.filter(pk=dupe.pk).exists()

    moderator_client.post(
        reverse("admin:providers_provider_changelist"), merge_post([keep, dupe], survivor=keep)
    )
    assert not Provider.objects.filter(pk=dupe.pk).exists()
    moved.refresh_from_db()
    link.refresh_from_db()
    assert moved.provider == keep and link.provider == keep
    assert moved.version == 2
    entry = AuditEntry.objects.get(story=moved, action="merge")
    assert (entry.field, entry.actor) == ("provider", moderator)
    assert "CBS" in entry.before and "cbsnews.com" in entry.after


def test_editor_cannot_merge_providers(editor_client):
    a, b = make_provider(), make_provider()
    make_story(provider=b)
    editor_client.post(reverse("admin:providers_provider_changelist"), merge_post([a, b], survivor=a))
    assert Provider.objects.filter(pk=b.pk).exists()


def test_merging_topics_moves_stories_through_the_workflow(moderator_client, moderator):
    keep, dupe, other = make_topic("Artificial intelligence"), make_topic("AI"), make_topic("Chips")
    both = make_story(topics=[dupe, other, keep])
    only_dupe = make_story(topics=[dupe])
    untouched = make_story(topics=[other])

    moderator_client.post(reverse("admin:stories_topic_changelist"), merge_post([keep, dupe], survivor=keep))
    assert not Topic.objects.filter(pk=dupe.pk).exists()

    def names(story):
        return [st.topic.name for st in Story.objects.get(pk=story.pk).story_topics.all()]

    assert names(both) == ["Artificial intelligence", "Chips"]
    assert names(only_dupe) == ["Artificial intelligence"]
    assert names(untouched) == ["Chips"]
    entry = AuditEntry.objects.get(story=only_dupe, field="topics")
    assert (entry.before, entry.after, entry.actor) == (["AI"], ["Artificial intelligence"], moderator)
    assert not AuditEntry.objects.filter(story=untouched).exists()


def test_merge_needs_two_or_more(moderator_client):
    only = make_topic("Lonely")
    response = moderator_client.post(
        reverse("admin:stories_topic_changelist"), merge_post([only], survivor=only), follow=True
    )
    assert "two or more" in response.content.decode()
    assert Topic.objects.filter(pk=only.pk).exists()


def test_editor_cannot_merge_topics(editor_client):
    a, b = make_topic("One"), make_topic("Two")
    editor_client.post(reverse("admin:stories_topic_changelist"), merge_post([a, b], survivor=a))
    assert Topic.objects.filter(pk=b.pk).exists()
