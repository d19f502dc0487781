"""The queue stays cheap on large tables: fixed queries, capped counts, typed providers and topics."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from stories import counts
from stories.models import State
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db

QUEUE = "moderation:queue"
QUEUE_MAX_QUERIES = 14


@pytest.mark.parametrize(("stories", "per_page"), [(3, 10), (30, 10), (30, 25)])
def test_queue_queries_do_not_grow_with_the_table_or_the_page(
    moderator_client, django_assert_max_num_queries, stories, per_page
):
    topics = [make_topic(f"T{n}") for n in range(3)]
    for n in range(stories):
        make_story(state=State.IN_REVIEW, topics=topics, related=2, type=("video", "article")[n % 2])
        make_provider()  # providers without stories: never listed

    for params in ({}, {"sort": "heat", "q": "Story"}, {"type": "video", "topic": topics[0].name}):
        with django_assert_max_num_queries(QUEUE_MAX_QUERIES):
            response = moderator_client.get(reverse(QUEUE), {"per_page": per_page, **params})
        assert response.status_code == 200


def test_queue_counts_related_links_of_the_shown_rows_without_grouping(moderator_client):
    story = make_story(state=State.IN_REVIEW, title="Covered", related=3)
    with CaptureQueriesContext(connection) as captured:
        body = moderator_client.get(reverse(QUEUE)).content.decode()

    assert f'<li class="queue-item" id="story-{story.pk}">' in body
    assert '<span class="related-count">3</span>' in body
    # The old Count() grouped the whole queue by every story column.
    assert not any('GROUP BY "stories_story"."id"' in q["sql"] for q in captured.captured_queries)


def test_queue_count_past_the_cap_says_more_than(moderator_client, monkeypatch):
    monkeypatch.setattr(counts, "COUNT_CAP", 4)
    for _ in range(7):
        make_story(state=State.IN_REVIEW)

    first = moderator_client.get(reverse(QUEUE), {"per_page": 10}).content.decode()

    assert "(more than 4)" in first
    assert first.count('class="queue-item"') == 7


def test_queue_lists_no_provider_or_topic_it_was_not_asked_for(moderator_client):
    for n in range(30):
        make_story(
            state=State.IN_REVIEW,
            provider=make_provider(name=f"Listed paper {n}"),
            topics=[make_topic(f"Listed topic {n}")],
        )

    body = moderator_client.get(reverse(QUEUE), {"per_page": 10}).content.decode()
    form = body[body.index('<form class="filters"') : body.index("</form>")]

    assert "Listed paper" not in form and "Listed topic" not in form
    assert 'data-suggest="/moderation/suggest/providers/"' in form
    assert 'data-suggest="/moderation/suggest/topics/"' in form


@pytest.mark.parametrize("named", ["pk", "domain", "DOMAIN", "name"])
def test_queue_provider_filter_takes_an_id_a_domain_or_a_name(moderator_client, named):
    wire = make_provider(name="Wire Service", domain="wire.example")
    make_story(state=State.IN_REVIEW, title="From the wire", provider=wire)
    make_story(state=State.IN_REVIEW, title="From elsewhere")
    value = {"pk": wire.pk, "domain": "wire.example", "DOMAIN": "WIRE.example", "name": "wire service"}[named]

    body = moderator_client.get(reverse(QUEUE), {"provider": value}).content.decode()

    assert "From the wire" in body and "From elsewhere" not in body
    assert 'value="wire.example"' in body


def test_queue_topic_filter_takes_a_name(moderator_client):
    make_story(state=State.IN_REVIEW, title="On climate", topics=[make_topic("Climate change")])
    make_story(state=State.IN_REVIEW, title="On sport", topics=[make_topic("Sport")])

    body = moderator_client.get(reverse(QUEUE), {"topic": "climate CHANGE"}).content.decode()

    assert "On climate" in body and "On sport" not in body


def test_queue_refuses_an_unknown_or_ambiguous_provider(moderator_client):
    make_provider(name="Twin", domain="twin-a.example")
    make_provider(name="Twin", domain="twin-b.example")
    make_story(state=State.IN_REVIEW, title="Anything")

    unknown = moderator_client.get(reverse(QUEUE), {"provider": "nobody.example"}).content.decode()
    ambiguous = moderator_client.get(reverse(QUEUE), {"provider": "Twin"}).content.decode()

    assert "Nothing is called “nobody.example”" in unknown and "Anything</a>" not in unknown
    assert "names several" in ambiguous and "Anything</a>" not in ambiguous


def test_queue_suggestions_by_prefix(moderator_client):
    make_provider(name="Harbour Times", domain="harbour.example")
    make_provider(name="Other", domain="hartford.example")
    make_provider(name="Nope", domain="nope.example")
    make_topic("Harvest")

    providers = moderator_client.get(reverse("moderation:suggest_providers"), {"q": "har"}).json()["results"]
    topics = moderator_client.get(reverse("moderation:suggest_topics"), {"q": "HAR"}).json()["results"]

    assert [r["value"] for r in providers] == ["harbour.example", "hartford.example"]
    assert providers[0]["label"] == "Harbour Times (harbour.example)"
    assert topics == [{"value": "Harvest", "label": "Harvest"}]
    assert moderator_client.get(reverse("moderation:suggest_topics")).json() == {"results": []}


def test_queue_suggestions_are_for_staff_who_may_view_stories(client, staff_without_roles):
    make_provider(name="Secret paper")
    url = reverse("moderation:suggest_providers")

    anonymous = client.get(url, {"q": "sec"})
    client.force_login(staff_without_roles)
    forbidden = client.get(url, {"q": "sec"})

    assert anonymous.status_code == 302 and "Secret" not in anonymous.content.decode()
    assert forbidden.status_code == 403 and "Secret" not in forbidden.content.decode()


def test_queue_editorial_topic_boxes_suggest_from_the_server(moderator_client):
    make_story(state=State.IN_REVIEW, topics=[make_topic("Anything")])

    body = moderator_client.get(reverse(QUEUE)).content.decode()

    assert 'data-suggest-separator=","' in body
    assert '<datalist id="topic-names"></datalist>' in body
