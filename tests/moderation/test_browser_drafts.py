"""In a real Chromium: an editor corrects a live story's title, readers keep the old one until a
moderator publishes the draft from the queue."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import click_and_wait_for_the_next_page, wait_for
from tests.conftest import make_story

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def person(django_user_model, name: str, codenames: list[str]):
    # Transactional tests flush the groups the migrations create: permissions are granted directly.
    user = django_user_model.objects.create_user(username=name, password=f"pw-{name}-secret", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="stories", codename__in=codenames)
    )
    return user


def sign_in(browser, live_server, name: str, next_url: str) -> None:
    browser.delete_all_cookies()
    browser.get(live_server.url + reverse("admin:login") + "?next=" + next_url)
    browser.find_element(By.ID, "id_username").send_keys(name)
    browser.find_element(By.ID, "id_password").send_keys(f"pw-{name}-secret", Keys.ENTER)


def reader_titles(browser, live_server) -> list[str]:
    browser.delete_all_cookies()
    browser.get(live_server.url + reverse("stories:home"))
    return [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".card__title a")]


def test_an_editors_correction_waits_for_a_moderator_and_then_reaches_readers(
    browser, live_server, transactional_db, django_user_model
):
    person(django_user_model, "edna", ["view_story", "change_story"])
    person(django_user_model, "mona", ["view_story", "change_story", "import_stories", "publish_story"])
    story = make_story(title="Mayor opens the brigde")

    sign_in(browser, live_server, "edna", reverse("admin:stories_story_change", args=[story.pk]))
    title = wait_for(browser, (By.ID, "id_title"))
    title.clear()
    title.send_keys("Mayor opens the bridge")
    click_and_wait_for_the_next_page(browser, browser.find_element(By.CSS_SELECTOR, "input[name='_save']"))
    assert "Saved as a draft: a moderator will review it before readers see it" in browser.page_source
    assert "A draft waits for a moderator" in browser.page_source
    assert wait_for(browser, (By.ID, "id_title")).get_attribute("value") == "Mayor opens the bridge"

    assert reader_titles(browser, live_server) == ["Mayor opens the brigde"]

    sign_in(browser, live_server, "mona", reverse("moderation:queue"))
    queue = wait_for(browser, (By.LINK_TEXT, "Drafts of live stories"))
    click_and_wait_for_the_next_page(browser, queue)
    item = wait_for(browser, (By.ID, f"story-{story.pk}"))
    assert item.find_element(By.CSS_SELECTOR, ".draft-author").text == "edna"
    assert item.find_element(By.CSS_SELECTOR, ".draft-title").text == "Mayor opens the bridge"
    click_and_wait_for_the_next_page(browser, item.find_element(By.LINK_TEXT, "Compare live and draft"))
    change = browser.find_element(By.XPATH, "//tr[.//th[normalize-space()='Title']]")
    assert "Mayor opens the brigde" in change.text and "Mayor opens the bridge" in change.text
    browser.back()
    item = wait_for(browser, (By.ID, f"story-{story.pk}"))
    click_and_wait_for_the_next_page(
        browser, item.find_element(By.XPATH, ".//button[text()='Publish draft']")
    )
    assert "the draft is published" in browser.page_source
    assert not browser.find_elements(By.ID, f"story-{story.pk}")

    assert reader_titles(browser, live_server) == ["Mayor opens the bridge"]
