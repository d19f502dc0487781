"""An editor in a real Chromium uploads story files in the admin, reads the preview and confirms."""

from __future__ import annotations

import zipfile

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from stories.models import ImportRun, State, Story
from tests.admin.test_upload import story_file
from tests.browser import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_uploads_a_zip_and_a_file_previews_and_confirms(
    browser,
    live_server,
    transactional_db,
    django_user_model,
    settings,
    tmp_path,
):
    settings.NEWSROOM_UPLOAD_DIR = tmp_path / "uploads"
    # Transactional tests flush the groups the migrations create: grant an editor's permissions directly.
    editor = django_user_model.objects.create_user(
        username="eddie", password="pw-eddie-secret", is_staff=True
    )
    editor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="stories",
            codename__in=["view_story", "change_story", "import_stories", "view_importrun"],
        )
    )
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("one.txt", story_file("one", title="First from the zip", published=True))
        zf.writestr("../escape.txt", "nope")
    single = tmp_path / "two.txt"
    single.write_text(story_file("two", title="Second, uploaded alone"))

    runs = reverse("admin:stories_importrun_changelist")
    browser.get(live_server.url + reverse("admin:login") + "?next=" + runs)
    browser.find_element(By.ID, "id_username").send_keys("eddie")
    browser.find_element(By.ID, "id_password").send_keys("pw-eddie-secret", Keys.ENTER)
    upload_url = reverse("admin:stories_importrun_upload")
    wait_for(browser, (By.CSS_SELECTOR, f".object-tools a[href='{upload_url}']")).click()

    # A zip with an escaping member is refused, and nothing is kept.
    wait_for(browser, (By.ID, "id_files")).send_keys(f"{archive}\n{single}")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    error = wait_for(browser, (By.CSS_SELECTOR, "p.errornote"))
    assert "'..' in a path is not allowed" in error.text
    assert not any((tmp_path / "uploads").iterdir())

    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("one.txt", story_file("one", title="First from the zip", published=True))
    browser.find_element(By.ID, "id_files").send_keys(f"{archive}\n{single}")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    table = wait_for(browser, (By.CSS_SELECTOR, "table.import-preview"))
    assert "batch.zip/one.txt" in table.text and "two.txt" in table.text
    assert "First from the zip" in table.text and "Second, uploaded alone" in table.text
    assert not Story.objects.exists()

    browser.find_element(By.CSS_SELECTOR, "input[name=confirm]").click()
    wait_for(browser, (By.CSS_SELECTOR, "ul.messagelist"))
    run = ImportRun.objects.get()
    assert browser.current_url.endswith(reverse("admin:stories_importrun_change", args=[run.pk]))
    assert (run.created, run.started_by_id) == (2, editor.pk)
    # An editor cannot publish: the file said published, the story waits in review.
    assert Story.objects.get(title="First from the zip").state == State.IN_REVIEW
