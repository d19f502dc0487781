"""Requests a careless or hostile visitor makes: odd dates, huge numbers, NUL characters. Never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stories.models import ImportOutcome, ImportRun, ImportRunStory, State
from tests.conftest import make_provider, make_story, make_topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-root"))
    return client


def reader_listings(topic, provider) -> list[str]:
    return [
        reverse("stories:home"),
        reverse("stories:search") + "?q=story",
        reverse("stories:topic", kwargs={"slug": topic.slug}),
        reverse("stories:provider", kwargs={"domain": provider.domain}),
    ]


@pytest.mark.parametrize(
    "query",
    [
        "published_before=9999-12-31",
        "published_after=0001-01-01",
        "published_after=0001-01-01&published_before=9999-12-31",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_no_bound(reader, moderator_client, query):
    topic, provider = make_topic("Ends"), make_provider(domain="ends.example")
    make_story(title="Still listed", topics=[topic], provider=provider)
    make_story(title="Waiting to be listed", state=State.IN_REVIEW, topics=[topic], provider=provider)

    for url in reader_listings(topic, provider):
        response = reader.get(f"{url}{'&' if '?' in url else '?'}{query}")
        assert response.status_code == 200, url
        assert "Still listed" in response.content.decode(), url
    queue = moderator_client.get(reverse("moderation:queue") + "?" + query)
    assert queue.status_code == 200
    assert "Waiting to be listed" in queue.content.decode()


@pytest.mark.parametrize("value", ["10000-01-01", "0000-12-31", "2026-02-30", "yesterday", "9" * 40])
def test_garbage_dates_are_a_filter_error_not_a_server_error(reader, moderator_client, value):
    topic, provider = make_topic("Garbage"), make_provider(domain="garbage.example")
    make_story(title="Listed story", topics=[topic], provider=provider)
    make_story(title="Queued story", state=State.IN_REVIEW)

    for url in reader_listings(topic, provider):
        response = reader.get(f"{url}{'&' if '?' in url else '?'}published_before={value}")
        assert response.status_code == 200, url
        assert "Please check your filters" in response.content.decode(), url
    queue = moderator_client.get(reverse("moderation:queue") + f"?published_after={value}")
    assert queue.status_code == 200
    assert "Queued story" not in queue.content.decode()
    assert "Please check the filters" in queue.content.decode()


@pytest.mark.parametrize("run_id", ["999999999999999999999", "1e30", "1.5", "-3", "9223372036854775808"])
def test_impossible_import_run_ids_list_nothing_and_say_why(moderator_client, run_id):
    make_story(title="Some queued story", state=State.IN_REVIEW)

    response = moderator_client.get(reverse("moderation:queue") + f"?import_run={run_id}")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Some queued story" not in body
    assert "Please check the filters" in body


def test_the_largest_possible_import_run_id_is_an_empty_batch(moderator_client):
    make_story(title="Some queued story", state=State.IN_REVIEW)

    response = moderator_client.get(reverse("moderation:queue") + "?import_run=9223372036854775807")

    assert response.status_code == 200
    assert "Some queued story" not in response.content.decode()
    assert "Please check the filters" not in response.content.decode()


def test_a_real_import_run_still_opens_as_a_batch(moderator_client):
    story = make_story(title="From the run", state=State.IN_REVIEW)
    make_story(title="From elsewhere", state=State.IN_REVIEW)
    run = ImportRun.objects.create()
    ImportRunStory.objects.create(run=run, story=story, outcome=ImportOutcome.CREATED)

    body = moderator_client.get(reverse("moderation:queue") + f"?import_run={run.pk}").content.decode()

    assert "From the run" in body
    assert "From elsewhere" not in body


@pytest.mark.parametrize(
    "name", ["stories:provider", "stories:provider_rss", "stories:provider_atom"]
)
def test_a_nul_character_in_a_provider_address_is_a_bad_request(reader, name):
    make_story(provider=make_provider(domain="fine.example"))

    response = reader.get(reverse(name, kwargs={"domain": "\x00"}))

    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=a%00b", "%00=1", "page=%00"],
)
def test_a_nul_character_in_a_reader_query_is_a_bad_request(reader, query):
    assert reader.get(reverse("stories:home") + "?" + query).status_code == 400
    assert reader.get(reverse("stories:search") + "?" + query).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "q=%00",
        "state__exact=%00",
        "type__exact=%00",
        "provider__id__exact=%00",
        "topics__id__exact=%00",
        "quality_band=%00",
        "published_at__gte=%00",
    ],
)
def test_admin_changelist_filters_with_a_nul_character_are_a_bad_request(superuser_client, query):
    make_story()

    response = superuser_client.get(reverse("admin:stories_story_changelist") + "?" + query)

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("model_name", "field_name"), [("story", "provider"), ("relatedlink", "provider")]
)
def test_admin_autocomplete_with_a_nul_character_is_a_bad_request(superuser_client, model_name, field_name):
    make_story(provider=make_provider(name="Findable"))
    url = reverse("admin:autocomplete")
    params = f"app_label=stories&model_name={model_name}&field_name={field_name}"

    assert superuser_client.get(f"{url}?term=Find&{params}").status_code == 200
    assert superuser_client.get(f"{url}?term=%00&{params}").status_code == 400


@pytest.mark.parametrize("cookie", ["sessionid", "csrftoken"])
def test_a_cookie_with_a_nul_character_is_a_bad_request(client, cookie):
    for url in (reverse("admin:index"), reverse("stories:home"), reverse("moderation:queue")):
        client.cookies[cookie] = "abcdefgh\x00ijklmnop"  # PostgreSQL cannot look such a session up

        assert client.get(url).status_code == 400, url


def test_moderation_queue_filters_with_a_nul_character_are_a_bad_request(moderator_client):
    for query in ("q=%00", "provider=%00", "topic=%00", "type=%00"):
        assert moderator_client.get(reverse("moderation:queue") + "?" + query).status_code == 400, query


@pytest.mark.parametrize(
    "drill_down",
    [
        "published_at__year=9999",
        "published_at__year=9999&published_at__month=12",
        "published_at__year=9999&published_at__month=12&published_at__day=31",
        "published_at__year=99999",
        "published_at__year=0",
    ],
)
def test_the_admin_date_drill_down_at_the_end_of_the_calendar_shows_the_whole_list(
    superuser_client, drill_down
):
    make_story(title="Ordinary story")
    url = reverse("admin:stories_story_changelist")

    response = superuser_client.get(f"{url}?{drill_down}")

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
    assert "Ordinary story" in superuser_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("changelist", "field"),
    [
        ("admin:stories_auditentry_changelist", "created_at"),
        ("admin:stories_importrun_changelist", "started_at"),
    ],
)
def test_other_date_drill_downs_at_the_end_of_the_calendar_do_not_fail(superuser_client, changelist, field):
    response = superuser_client.get(f"{reverse(changelist)}?{field}__year=9999&{field}__month=12")

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_a_drill_down_into_an_ordinary_year_still_filters(superuser_client):
    from datetime import UTC, datetime

    make_story(title="From 2024", published_at=datetime(2024, 5, 1, tzinfo=UTC))
    make_story(title="From 2025", published_at=datetime(2025, 5, 1, tzinfo=UTC))

    response = superuser_client.get(reverse("admin:stories_story_changelist") + "?published_at__year=2024")

    assert response.status_code == 200
    body = response.content.decode()
    assert "From 2024" in body
    assert "From 2025" not in body
