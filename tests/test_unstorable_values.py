"""Values a story file can spell but the site cannot store or show, through the paths people use:
the import command, the admin upload and the admin forms that write the same columns."""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from providers.domains import InvalidDomain
from providers.models import Provider
from stories.admin.forms import ProviderForm, StoryAdminForm
from stories.admin.images import LeadImageForm
from stories.admin.inlines import ImageInline, RelatedLinkInline
from stories.imports.service import import_stories
from stories.imports.sources import iter_story_sources
from stories.models import ImportRun, RelatedLink, State, Story, Topic
from stories.storyfile import StoryFileError, parse_story
from tests.admin.test_story import change_form_post, change_url
from tests.conftest import make_provider, make_story

pytestmark = pytest.mark.django_db

YEAR_10000_IN_UTC = "9999-12-31T23:00:00-02:00"
YEAR_0_IN_UTC = "0001-01-01T00:30:00+01:00"


def story_file(
    slug: str, *, date: str = "2024-03-01T10:00:00Z", related_date: str | None = None, url: str | None = None
) -> str:
    lines = [
        "---",
        "category: news",
        f'title: "Story {slug}"',
        f'excerpt: "About {slug}."',
        f"publishedDateTime: {date}",
        f"webUrl: {json.dumps(url or f'https://news.example/{slug}', ensure_ascii=False)}",
        "type: article",
        "quality: 50",
        "heat: 3",
        "published: true",
        "",
        "provider:",
        "  name: Example News",
        "  domain: news.example",
        "",
        "topics:",
        "  - AI",
    ]
    if related_date:
        lines += [
            "",
            "related:",
            '  - title: "Other coverage"',
            f"    publishedDateTime: {related_date}",
            f'    webUrl: "https://other.example/{slug}"',
            "    type: article",
            "    provider:",
            "      name: Other",
            "      domain: other.example",
        ]
    lines += ["", 'secured: "s"', "---", ""]
    return "\n".join(lines)


# --- Dates outside years 1 to 9999 in UTC ---------------------------------------------------------


def test_import_command_refuses_dates_outside_the_calendar_and_imports_the_rest(
    tmp_path, cli, moderator_client
):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a-good.md").write_text(story_file("good-a"))
    (batch / "b-year-10000.md").write_text(story_file("year-10000", date=YEAR_10000_IN_UTC))
    (batch / "c-related-year-0.md").write_text(story_file("related-year-0", related_date=YEAR_0_IN_UTC))
    (batch / "d-good.md").write_text(story_file("good-d"))

    code, out, err = cli("import_stories", str(batch))

    assert code == 1
    assert err.strip().splitlines() == [
        f"{batch / 'b-year-10000.md'}: line 5, field 'publishedDateTime': "
        f"'{YEAR_10000_IN_UTC}' is outside the years 1 to 9999 once converted to UTC",
        f"{batch / 'c-related-year-0.md'}: line 21, field 'related[0].publishedDateTime': "
        f"'{YEAR_0_IN_UTC}' is outside the years 1 to 9999 once converted to UTC",
    ]
    assert out.strip().endswith("created 2, updated 0, unchanged 0, conflicts 0, failed 2")
    run = ImportRun.objects.get()
    assert (run.status, run.created, run.failed) == (ImportRun.Status.FINISHED, 2, 2)
    assert [failure["path"] for failure in run.failures] == [
        str(batch / "b-year-10000.md"),
        str(batch / "c-related-year-0.md"),
    ]
    assert sorted(Story.objects.values_list("title", flat=True)) == ["Story good-a", "Story good-d"]
    assert not RelatedLink.objects.exists()
    # Nothing unreadable was stored: every page that lists stories still answers.
    for url in (
        reverse("stories:home"),
        reverse("admin:stories_story_changelist"),
        reverse("moderation:queue"),
    ):
        assert moderator_client.get(url).status_code == 200, url


def test_admin_upload_refuses_a_date_outside_the_calendar_and_imports_the_rest(
    editor_client, settings, tmp_path
):
    settings.NEWSROOM_UPLOAD_DIR = tmp_path / "uploads"
    files = [
        SimpleUploadedFile("good.md", story_file("good").encode()),
        SimpleUploadedFile("year-0.md", story_file("year-0", date=YEAR_0_IN_UTC).encode()),
    ]

    preview = editor_client.post(reverse("admin:stories_importrun_upload"), {"files": files})

    assert preview.status_code == 200
    rows = {row["path"]: row for row in preview.context["rows"]}
    assert rows["good.md"]["outcome"] == "created"
    assert rows["year-0.md"]["outcome"] == "failed"
    reason = f"line 5, field 'publishedDateTime': '{YEAR_0_IN_UTC}' is outside the years 1 to 9999"
    assert reason in rows["year-0.md"]["reason"]
    assert reason in html.unescape(preview.content.decode())

    token = preview.context["upload"].token
    confirmed = editor_client.post(reverse("admin:stories_importrun_upload_confirm", args=[token]))

    assert confirmed.status_code == 302
    run = ImportRun.objects.get(via=ImportRun.Via.ADMIN)
    assert (run.created, run.failed) == (1, 1)
    assert list(Story.objects.values_list("title", flat=True)) == ["Story good"]
    for url in (reverse("admin:stories_story_changelist"), reverse("moderation:queue")):
        assert editor_client.get(url).status_code == 200, url


# --- Every value the site cannot hold, refused the same way by the command and the upload ----------

# (file name, change to a good file, field, what the reason says)
UNHOLDABLE = [
    ("date.md", ("publishedDateTime: 2024-03-01T10:00:00Z", f"publishedDateTime: {YEAR_10000_IN_UTC}"),
     "publishedDateTime", "is outside the years 1 to 9999 once converted to UTC"),
    ("quality.md", ("quality: 50", "quality: 1000001"), "quality", "1000001 is out of range"),
    (
        "width.md",
        ("type: article", 'type: article\nimages:\n  - url: "https://i.example/a"\n    width: 2147483648'),
        "images[0].width", "2147483648 is out of range (0..2147483647)",
    ),
    ("title.md", ('title: "Story title"', f'title: "{"T" * 1001}"'), "title",
     "is 1,001 characters long, the limit is 1,000"),
    ("override.md", ('title: "Story override"', 'title: "Invoice \\u202Egpj.exe"'), "title",
     "contains U+202E RIGHT-TO-LEFT OVERRIDE at character 9"),
    ("domain.md", ("domain: news.example", "domain: micro/soft.com"), "provider.domain",
     "'micro/soft.com' is not a host name: it contains '/'"),
    ("topic.md", ("  - AI", '  - "AI, ML"'), "topics[0]",
     "must not contain ',', which separates topic names in the moderation queue"),
    ("url.md", ("webUrl:", 'originalUrl: "https://exa mple.com/a"\nwebUrl:'), "originalUrl",
     "URL contains a space or line break"),
]


def unholdable_files() -> dict[str, str]:
    files = {"good.md": story_file("good")}
    for name, (old, new), _, _ in UNHOLDABLE:
        text = story_file(name.removesuffix(".md"))
        assert text.count(old) == 1, name
        files[name] = text.replace(old, new)
    return files


def test_import_command_refuses_every_value_the_site_cannot_hold_naming_the_field(tmp_path, cli):
    for name, text in unholdable_files().items():
        (tmp_path / name).write_text(text)

    code, out, err = cli("import_stories", str(tmp_path))

    assert code == 1
    reasons = dict(line.split(": ", 1) for line in err.strip().splitlines())
    for name, _, field, why in UNHOLDABLE:
        reason = reasons[str(tmp_path / name)]
        assert f"field '{field}': " in reason and why in reason, (name, reason)
    assert out.strip().endswith(f"created 1, updated 0, unchanged 0, conflicts 0, failed {len(UNHOLDABLE)}")
    assert list(Story.objects.values_list("web_url", flat=True)) == ["https://news.example/good"]


def test_admin_upload_refuses_the_same_values_with_the_same_reasons(editor_client, settings, tmp_path, cli):
    settings.NEWSROOM_UPLOAD_DIR = tmp_path / "uploads"
    files = unholdable_files()

    preview = editor_client.post(
        reverse("admin:stories_importrun_upload"),
        {"files": [SimpleUploadedFile(name, text.encode()) for name, text in files.items()]},
    )

    rows = {row["path"]: row for row in preview.context["rows"]}
    assert rows["good.md"]["outcome"] == "created"
    page = html.unescape(preview.content.decode())
    for name, _, field, why in UNHOLDABLE:
        reason = rows[name]["reason"]
        assert rows[name]["outcome"] == "failed" and f"field '{field}': " in reason and why in reason, name
        assert reason in page
        (tmp_path / name).write_text(files[name])
    _, _, err = cli("import_stories", *(str(tmp_path / name) for name, *_ in UNHOLDABLE))
    # The command says the same, word for word.
    expected = [f"{tmp_path / name}: {rows[name]['reason']}" for name, *_ in UNHOLDABLE]
    assert err.strip().splitlines() == expected


# --- Explicit YAML tags on texts they do not fit -------------------------------------------------


def test_import_command_refuses_a_tag_its_text_does_not_fit_and_imports_the_rest(tmp_path, cli):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a-good.md").write_text(story_file("good-a"))
    maybe = story_file("maybe").replace("published: true", "published: !!bool maybe")
    (batch / "b-maybe.md").write_text(maybe)
    (batch / "c-soon.md").write_text(story_file("soon", date="!!timestamp soon"))
    (batch / "d-good.md").write_text(story_file("good-d"))

    code, out, err = cli("import_stories", str(batch))

    assert code == 1
    assert err.strip().splitlines() == [
        f"{batch / 'b-maybe.md'}: line 10, field 'published': 'maybe' is not true or false",
        f"{batch / 'c-soon.md'}: line 5, field 'publishedDateTime': 'soon' is not a valid date and time",
    ]
    assert out.strip().endswith("created 2, updated 0, unchanged 0, conflicts 0, failed 2")
    run = ImportRun.objects.get()
    assert (run.status, run.created, run.failed) == (ImportRun.Status.FINISHED, 2, 2)


def test_import_command_refuses_a_nul_character_after_the_front_matter_on_every_database(tmp_path, cli):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a-good.md").write_text(story_file("good-a"))
    (batch / "b-nul.md").write_text(story_file("nul") + "A body\x00 with NUL.\n")

    code, out, err = cli("import_stories", str(batch))

    assert code == 1
    assert err.strip() == (
        f"{batch / 'b-nul.md'}: line 21, field 'body': "
        "the text after the front matter contains a NUL character, which cannot be stored"
    )
    assert list(Story.objects.values_list("title", flat=True)) == ["Story good-a"]


# --- One URL rule for the importer and the admin ---------------------------------------------------

ODD_URLS = [
    "https://example.com/a",
    "http://example.com",
    "https://EXAMPLE.com/A?q=1&r=%20#frag",
    "https://example.com/a?",
    "https://example.com:8443/a",
    "https://example.com:0/",
    "https://user:secret@example.com/",
    "https://bücher.de/a",
    "https://xn--bcher-kva.de/a",
    "http://127.0.0.1/a",
    "http://[::1]/a",
    "https://exa mple.com/a",  # a space in the host
    "https://example.com/a b",
    "https://example.com/a\nb",
    "https://example.com/a\tb",
    "https://example.com/a\rb",
    " https://example.com/a",
    "https://example.com/a ",
    "https://my_site.example.com/",
    "https://intranet/",
    "https://-example.com/",
    "https://example..com/",
    "https://example.com:99999/",
    "http://[::1/a",
    "http://[::g]/a",
    "http:///a",
    "https:example.com",
    "//example.com/a",
    "example.com/a",
    "ftp://example.com/a",
    "javascript:alert(1)",
    "data:text/html,hi",
    "https://exa\u202emple.com/",
    "https://example.com/\u200b",
    "https://example.com/" + "a" * 1980,  # 2000 characters: the column's limit
    "https://example.com/" + "a" * 1981,
]


def format_accepts(url: str) -> bool:
    try:
        parse_story(story_file("u", url=url).encode(), path="u.md")
    except StoryFileError:
        return False
    return True


@pytest.fixture
def admin_forms(rf, admin_user):
    """The admin's forms that write a URL column, each as (form class, URL field, data, instance)."""
    request = rf.get("/")
    request.user = admin_user
    story = make_story()
    provider = story.provider
    related_form = RelatedLinkInline(Story, admin.site).get_formset(request, story).form
    image_form = ImageInline(Story, admin.site).get_formset(request, story).form
    story_data = change_form_post(story, version=story.version)
    return {
        "story": (StoryAdminForm, "web_url", story_data, story),
        "related link": (related_form, "web_url", {"position": "0", "title": "R"}, RelatedLink(story=story)),
        "image": (image_form, "url", {"position": "0", "role": "lead"}, None),
        "provider logo": (
            ProviderForm,
            "logo_url",
            {"name": provider.name, "domain": provider.domain},
            provider,
        ),
    }


def admin_accepts(form_spec, url: str) -> bool:
    """Whether the admin form saves ``url`` as it is (it trims spaces and may add a scheme)."""
    form_class, field, data, instance = form_spec
    form = form_class(data={**data, field: url}, instance=instance)
    return form.is_valid() and form.cleaned_data[field] == url


@pytest.mark.parametrize("form_name", ["story", "related link", "image", "provider logo"])
def test_the_importer_and_the_admin_accept_exactly_the_same_urls(admin_forms, form_name):
    verdicts = {url: (format_accepts(url), admin_accepts(admin_forms[form_name], url)) for url in ODD_URLS}

    disagreements = {url: verdict for url, verdict in verdicts.items() if verdict[0] != verdict[1]}
    assert disagreements == {}
    accepted = [url for url, (by_format, _) in verdicts.items() if by_format]
    assert len(accepted) == 12 and "https://exa mple.com/a" not in accepted


@pytest.mark.parametrize("url", ODD_URLS[:11] + ["https://example.com/" + "a" * 1980])
def test_a_story_imported_with_an_odd_url_can_be_saved_in_the_admin(url, tmp_path, moderator_client):
    path = tmp_path / "odd.md"
    path.write_text(story_file("odd", url=url))
    report = import_stories(iter_story_sources([str(path)]))
    assert report.counts["created"] == 1, report.results
    story = Story.objects.get()

    response = moderator_client.post(
        change_url(story), change_form_post(story, version=story.version, excerpt="Edited.")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    story.refresh_from_db()
    assert (story.web_url, story.excerpt) == (url, "Edited.")


# --- Admin forms refuse what a file may not hold ---------------------------------------------------


def test_change_form_refuses_a_title_with_a_right_to_left_override(editor_client):
    story = make_story(state=State.IN_REVIEW, title="Invoice")

    response = editor_client.post(
        change_url(story), change_form_post(story, version=1, title="Invoice \u202egpj.exe")
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["title"]
    assert errors == [
        "This value contains U+202E RIGHT-TO-LEFT OVERRIDE at character 9, which reorders the text "
        "around it; remove it."
    ]
    story.refresh_from_db()
    assert story.title == "Invoice"


def test_change_form_keeps_joiners_that_scripts_and_emoji_need(editor_client):
    story = make_story(state=State.IN_REVIEW)
    title = "\U0001f469\u200d\U0001f4bb می\u200cخواهم"

    response = editor_client.post(change_url(story), change_form_post(story, version=1, title=title))

    assert response.status_code == 302
    story.refresh_from_db()
    assert story.title == title


@pytest.mark.parametrize("field", ["quality", "heat"])
def test_change_form_refuses_scores_a_file_could_not_hold_on_every_database(editor_client, field):
    story = make_story(state=State.IN_REVIEW, quality=40, heat=40)

    response = editor_client.post(change_url(story), change_form_post(story, version=1, **{field: "2000000"}))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [
        "Ensure this value is less than or equal to 1000000."
    ]
    story.refresh_from_db()
    assert (story.quality, story.heat) == (40, 40)


def test_inline_forms_refuse_what_the_format_refuses(admin_forms):
    related_form, _, related_data, related = admin_forms["related link"]
    image_form, _, image_data, _ = admin_forms["image"]

    related = related_form(data={**related_data, "title": "A\u2066B", "quality": "1000001"}, instance=related)
    image = image_form(data={**image_data, "url": "https://i.example/a.jpg", "width": str(2**31)})

    assert not related.is_valid() and set(related.errors) == {"title", "quality"}
    assert "U+2066 LEFT-TO-RIGHT ISOLATE" in related.errors["title"][0]
    assert not image.is_valid()
    assert image.errors["width"] == ["Ensure this value is less than or equal to 2147483647."]


def test_lead_image_alt_text_must_be_one_line():
    form = LeadImageForm(data={"title": "A photo\u200b"})

    assert not form.is_valid()
    assert "U+200B ZERO WIDTH SPACE" in form.errors["title"][0]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("AI, ML", "This value must not contain ',', which separates topic names in the moderation queue."),
        ("AI; ML", "This value must not contain ';', which separates topic names in spreadsheets."),
        ("\u202eIA", "This value contains U+202E RIGHT-TO-LEFT OVERRIDE at character 1"),
        ("   ", "This field is required."),
    ],
)
def test_topic_admin_refuses_names_that_cannot_travel_in_a_list(admin_client, name, error):
    response = admin_client.post(reverse("admin:stories_topic_add"), {"name": name, "slug": "ai-ml"})

    assert response.status_code == 200
    assert error in response.context["adminform"].form.errors["name"][0]
    assert not Topic.objects.exists()


def test_topic_admin_accepts_an_ordinary_name(admin_client):
    response = admin_client.post(
        reverse("admin:stories_topic_add"), {"name": "Machine learning", "slug": "ml"}
    )

    assert response.status_code == 302
    assert Topic.objects.get().name == "Machine learning"


# --- Provider domains are host names everywhere ----------------------------------------------------


def provider_post(provider: Provider, **overrides) -> dict:
    data = {
        "name": provider.name,
        "domain": provider.domain,
        "logo_url": "",
        "logo_width": "",
        "logo_height": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("domain", "micro/soft.com", "This value is not a host name: it contains '/'"),
        ("domain", "example.com:8080", "This value is not a host name: it contains ':' (a port)"),
        ("domain", "https://example.com", "This value is not a host name: it is a URL"),
        ("name", "Micro\u202esoft", "This value contains U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("logo_url", "https://exa mple.com/logo.png", "URL contains a space or line break"),
        ("logo_width", str(2**31), "Ensure this value is less than or equal to 2147483647."),
    ],
)
def test_provider_admin_refuses_what_a_story_file_may_not_hold(admin_client, field, value, error):
    provider = make_provider(name="Microsoft", domain="microsoft.com")

    response = admin_client.post(
        reverse("admin:providers_provider_change", args=[provider.pk]),
        provider_post(provider, **{field: value}),
    )

    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors[field])
    provider.refresh_from_db()
    assert (provider.name, provider.domain) == ("Microsoft", "microsoft.com")


def test_provider_admin_saves_a_host_name(admin_client, client):
    provider = make_provider(name="Microsoft", domain="microsoft.com")
    make_story(provider=provider)

    response = admin_client.post(
        reverse("admin:providers_provider_change", args=[provider.pk]),
        provider_post(provider, domain="News.Microsoft.com"),
    )

    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.domain == "News.Microsoft.com"
    assert client.get(reverse("stories:provider", kwargs={"domain": provider.domain})).status_code == 200


def test_get_or_create_for_domain_refuses_what_is_not_a_host_name():
    with pytest.raises(InvalidDomain, match="contains '/'"):
        Provider.objects.get_or_create_for_domain(domain="micro/soft.com", name="Microsoft")

    assert not Provider.objects.exists()


def test_import_command_reports_a_provider_domain_that_is_not_a_host_name(tmp_path, cli, client):
    (tmp_path / "bad.md").write_text(
        story_file("bad").replace("domain: news.example", "domain: micro/soft.com")
    )
    (tmp_path / "good.md").write_text(story_file("good"))

    code, _, err = cli("import_stories", str(tmp_path))

    assert code == 1
    assert err.strip() == (
        f"{tmp_path / 'bad.md'}: line 14, field 'provider.domain': 'micro/soft.com' is not a host name: "
        "it contains '/' (give only the host name, e.g. example.com)"
    )
    assert list(Provider.objects.values_list("domain", flat=True)) == ["news.example"]
    sitemap = client.get(reverse("sitemap_section", kwargs={"section": "providers"}))
    assert sitemap.status_code == 200
    assert b"/provider/news.example/" in sitemap.content


# --- Limits from settings, in every way of importing ---------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_import_command_applies_the_topic_limit_from_settings(tmp_path, cli, settings, jobs):
    settings.NEWSROOM_MAX_TOPICS_PER_STORY = 1
    (tmp_path / "two-topics.md").write_text(story_file("two").replace("  - AI", "  - AI\n  - Cloud"))
    (tmp_path / "one-topic.md").write_text(story_file("one"))

    code, _, err = cli("import_stories", "--jobs", jobs, str(tmp_path))

    assert code == 1
    assert err.strip() == (
        f"{tmp_path / 'two-topics.md'}: line 17, field 'topics': has 2 topics, over the limit of 1 per story"
    )
    assert list(Story.objects.values_list("title", flat=True)) == ["Story one"]


def test_settings_refuse_a_limit_below_one(monkeypatch):
    import subprocess

    monkeypatch.setenv("NEWSROOM_MAX_RELATED_PER_STORY", "0")
    monkeypatch.setenv("DEBUG", "1")
    result = subprocess.run(
        [sys.executable, "-c", "import newsroom.settings"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "NEWSROOM_MAX_RELATED_PER_STORY must be at least 1, got 0" in result.stderr
