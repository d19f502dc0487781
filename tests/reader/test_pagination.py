"""Reader listings page by number, then by cursor: every story once, in order, however deep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from django.urls import reverse
from django.utils import timezone

from stories.models import State
from stories.models.orders import NO_DATE, READER_ORDERS
from stories.reader.pagination import COUNT_LIMIT, NUMBERED_PAGES, PAGE_SIZE, decode_position, encode_position
from tests.conftest import make_provider, make_topic
from tests.reader.generated import generate_stories

pytestmark = pytest.mark.django_db

SCORE_OF = {"hot": "heat", "top": "quality"}


def tied_stories(count: int, **fields):
    """Stories that tie in threes on date and score, with missing dates and scores among them."""
    provider = make_provider()
    now = timezone.now().replace(microsecond=0)
    return generate_stories(
        count,
        provider=provider,
        published_at=lambda n: None if n % 13 == 0 else now - timedelta(days=n // 3),
        heat=lambda n: None if n % 9 == 0 else n % 4,
        quality=lambda n: None if n % 11 == 0 else n % 3,
        **fields,
    )


def expected_ids(stories, sort: str) -> list[int]:
    """The order readers are promised: highest score, then newest, then highest id; missing values last."""

    def key(story):
        score = getattr(story, SCORE_OF[sort]) if sort in SCORE_OF else 0
        date = story.published_at or datetime.min.replace(tzinfo=UTC)
        return (score is not None, score or 0, story.published_at is not None, date, story.pk)

    return [story.pk for story in sorted(stories, key=key, reverse=True)]


def shown_ids(response) -> list[int]:
    return [story.pk for story in response.context["stories"]]


def walk(reader, url: str, link: str):
    """The pages met following ``link`` ("older" or "newer") from ``url``, and the last response."""
    pages = []
    while True:
        response = reader.get(url)
        assert response.status_code == 200, url
        pages.append(shown_ids(response))
        query = getattr(response.context["page_obj"], link)
        if query is None:
            return pages, response
        url = reverse("stories:home") + "?" + query


@pytest.mark.parametrize("sort", ["new", "hot", "top"])
def test_older_links_show_every_live_story_once_in_order(reader, sort):
    stories = tied_stories(COUNT_LIMIT + 3 * PAGE_SIZE + 7)
    tied_stories(30, state=State.IN_REVIEW)

    pages, _ = walk(reader, reverse("stories:home") + f"?sort={sort}", "older")

    assert [story_id for page in pages for story_id in page] == expected_ids(stories, sort)
    assert [len(page) for page in pages] == [PAGE_SIZE] * (len(pages) - 1) + [7]


@pytest.mark.parametrize("sort", ["new", "hot"])
def test_newer_links_lead_back_through_the_same_pages(reader, sort):
    tied_stories(COUNT_LIMIT + 3 * PAGE_SIZE + 7)
    forward, last = walk(reader, reverse("stories:home") + f"?sort={sort}", "older")

    backward, _ = walk(reader, reverse("stories:home") + "?" + last.context["page_obj"].newer, "newer")

    assert backward[::-1] == forward[:-1]


def test_a_cursor_page_neither_repeats_nor_skips_when_stories_are_published_meanwhile(reader):
    stories = tied_stories(COUNT_LIMIT + 2 * PAGE_SIZE)
    fifth = reader.get(reverse("stories:home") + f"?page={NUMBERED_PAGES}").context["page_obj"]
    generate_stories(5, provider=make_provider(), published_at=lambda n: timezone.now())

    sixth = reader.get(reverse("stories:home") + "?" + fifth.older)

    expected = expected_ids(stories, "new")
    assert shown_ids(sixth) == expected[NUMBERED_PAGES * PAGE_SIZE : (NUMBERED_PAGES + 1) * PAGE_SIZE]


def test_page_links_keep_the_filters_and_the_order(reader):
    topic = make_topic("Weather")
    generate_stories(COUNT_LIMIT + 1, provider=make_provider(), topic=topic)

    fifth = reader.get(reverse("stories:home") + f"?topic=weather&sort=hot&page={NUMBERED_PAGES}")
    html = fifth.content.decode()

    older = parse_qs(fifth.context["page_obj"].older)
    assert older["topic"] == ["weather"] and older["sort"] == ["hot"] and "page" not in older
    # Links carry the query as the page reads it: its parameters in a fixed order.
    assert 'rel="next" href="?sort=hot&amp;topic=weather&amp;after=' in html
    assert 'href="?sort=hot&amp;topic=weather&amp;page=5" aria-current="page"' in html
    sixth = reader.get(reverse("stories:home") + "?" + fifth.context["page_obj"].older).content.decode()
    assert '<a href="?sort=hot&amp;topic=weather">First page</a>' in sixth
    assert '<a rel="prev" href="?sort=hot&amp;topic=weather&amp;before=' in sixth


def test_numbered_pages_stop_with_a_message_that_says_how_to_go_further(reader):
    generate_stories(COUNT_LIMIT + 1, provider=make_provider())

    response = reader.get(reverse("stories:home") + f"?page={NUMBERED_PAGES + 1}")

    assert response.status_code == 404
    assert f"Page numbers stop at {NUMBERED_PAGES}" in response.content.decode()
    assert "the “Older” link leads further back" in response.content.decode()


def test_a_search_shows_its_first_results_and_says_so_past_them(reader):
    generate_stories(COUNT_LIMIT + 1, provider=make_provider())

    fifth = reader.get(reverse("stories:search") + f"?q=generated&page={NUMBERED_PAGES}")
    past = reader.get(reverse("stories:search") + f"?q=generated&page={NUMBERED_PAGES + 1}")

    assert fifth.status_code == 200 and fifth.context["page_obj"].older is None
    assert past.status_code == 404
    assert f"Only the first {COUNT_LIMIT} results are shown" in past.content.decode()


@pytest.mark.parametrize("page", ["0", "-1", "x", "٣", "9" * 5000, "2.0"])
def test_a_page_number_that_is_not_one_is_a_404(reader, page):
    generate_stories(3, provider=make_provider())

    response = reader.get(reverse("stories:home"), {"page": page})

    assert response.status_code == 404
    assert "There is no such page." in response.content.decode()


@pytest.mark.parametrize(
    "cursor", ["abc", "1", "1.2.3", "1.0", "1.-4", "99999999999999999999.1", "1 .2", "١.٢"]
)
def test_a_cursor_no_story_could_have_is_a_404_with_a_message(reader, cursor):
    generate_stories(3, provider=make_provider())

    response = reader.get(reverse("stories:home"), {"after": cursor})

    assert response.status_code == 404
    assert "This link to older or newer stories is not valid." in response.content.decode()


def test_an_empty_cursor_is_ignored_like_every_empty_parameter(reader):
    generate_stories(3, provider=make_provider())

    response = reader.get(reverse("stories:home"), {"after": ""})

    assert response.status_code == 200 and len(response.context["stories"]) == 3


def test_a_cursor_past_the_last_story_is_a_404(reader):
    stories = generate_stories(3, provider=make_provider())
    last = min(stories, key=lambda story: (story.published_at, story.pk))

    response = reader.get(
        reverse("stories:home"), {"after": encode_position(READER_ORDERS["new"].position(last))}
    )

    assert response.status_code == 404
    assert "There are no older stories in this listing." in response.content.decode()


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (23, "23 stories, page 1 of 2"),
        (1, "1 story<"),
        (COUNT_LIMIT + 1, f"More than {COUNT_LIMIT} stories, page 1<"),
    ],
)
def test_the_count_stops_at_the_limit(reader, count, text):
    generate_stories(count, provider=make_provider())

    html = reader.get(reverse("stories:home")).content.decode()

    assert text in html


def test_numbered_links_mark_the_current_page_for_assistive_technology(reader):
    generate_stories(2 * PAGE_SIZE + 1, provider=make_provider())

    html = reader.get(reverse("stories:home") + "?page=2").content.decode()

    assert '<a href="?page=2" aria-current="page" aria-label="Page 2, current page">2</a>' in html
    assert '<a href="?" aria-label="Page 1">1</a>' in html
    assert '<a href="?page=3" aria-label="Page 3">3</a>' in html
    assert '<a rel="prev" href="?">← Newer</a>' in html


@pytest.mark.parametrize("sort", ["new", "hot", "top"])
def test_a_position_reads_back_as_it_was_written(sort):
    order = READER_ORDERS[sort]
    [story] = generate_stories(1, provider=make_provider(), published_at=lambda n: None, heat=lambda n: None)
    odd = datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

    for position in (order.position(story), (*order.position(story)[:-2], odd, 7)):
        assert decode_position(order, encode_position(position)) == position
    assert NO_DATE in order.position(story)
