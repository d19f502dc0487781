"""A reader in a real Chromium: home → topic → story → original article, and search."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from stories.models import State
from tests.browser import click_and_wait_for_the_next_page, wait_for
from tests.conftest import make_provider, make_story, make_topic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reader_walks_from_home_to_topic_to_story_to_the_original(browser, live_server, transactional_db):
    space = make_topic("Space")
    provider = make_provider(name="Orbit Daily", domain="orbit.example")
    make_story(title="Unrelated gardening tips", topics=[make_topic("Gardening")])
    story = make_story(
        title="Rocket reaches orbit", topics=[space], provider=provider,
        web_url="https://orbit.example/news/rocket", related=2,
    )
    make_story(title="Secret draft about space", topics=[space], state=State.DRAFT)

    browser.get(live_server.url + reverse("stories:home"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Latest stories"
    assert "Secret draft" not in browser.page_source

    card = browser.find_element(By.XPATH, "//article[.//a[normalize-space()='Rocket reaches orbit']]")
    card.find_element(By.LINK_TEXT, "Space").click()
    wait_for(browser, (By.XPATH, "//h1[normalize-space()='Space']"))
    assert browser.current_url == live_server.url + reverse("stories:topic", kwargs={"slug": "space"})
    assert "Unrelated gardening tips" not in browser.page_source

    browser.find_element(By.LINK_TEXT, "Rocket reaches orbit").click()
    wait_for(browser, (By.XPATH, "//h1[normalize-space()='Rocket reaches orbit']"))
    assert browser.current_url == live_server.url + story.get_absolute_url()

    original = browser.find_element(By.CSS_SELECTOR, "a.original-link")
    assert original.get_attribute("href") == "https://orbit.example/news/rocket"
    assert set(original.get_attribute("rel").split()) == {"noopener", "noreferrer"}
    assert "Orbit Daily" in original.text
    assert browser.find_element(By.ID, "coverage-heading").text == "Also covered by"


def test_reader_searches_from_the_home_page(browser, live_server, transactional_db):
    make_story(title="Volcano erupts in Iceland", excerpt="Ash clouds ground flights.")
    make_story(title="Markets rally", excerpt="Shares rose.")

    browser.get(live_server.url + reverse("stories:home"))
    box = browser.find_element(By.ID, "site-search-q")
    box.send_keys("volcano", Keys.ENTER)

    heading = wait_for(browser, (By.XPATH, "//h1[contains(., 'Search results')]"))
    assert heading.text == "Search results for “volcano”"
    titles = [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".card__title a")]
    assert titles == ["Volcano erupts in Iceland"]

    box = browser.find_element(By.ID, "site-search-q")
    box.clear()
    box.send_keys("zebra", Keys.ENTER)
    wait_for(browser, (By.XPATH, "//h2[normalize-space()='No stories found']"))


def test_keyboard_user_can_skip_to_the_content(browser, live_server, transactional_db):
    make_story(title="Anything")

    browser.get(live_server.url + reverse("stories:home"))
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    skip = browser.switch_to.active_element
    assert skip.text == "Skip to content"
    assert skip.is_displayed()
    skip.send_keys(Keys.ENTER)
    assert browser.current_url.endswith("#main")


def test_stylesheet_loads_under_the_content_security_policy(browser, live_server, transactional_db):
    make_story(title="Styled")

    browser.get(live_server.url + reverse("stories:home"))

    header = browser.find_element(By.CSS_SELECTOR, ".site-header")
    assert header.value_of_css_property("background-color") == "rgba(27, 31, 36, 1)"


def test_moderator_publishes_from_the_queue_and_readers_see_it(
    browser, live_server, transactional_db, django_user_model
):
    # Transactional tests flush the groups the migrations create; grant a
    # moderator's publishing permissions directly instead.
    moderator = django_user_model.objects.create_user(
        username="mona", password="pw-mona-secret", is_staff=True
    )
    moderator.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="stories", codename__in=["view_story", "change_story", "publish_story"]
        )
    )
    make_story(title="Already on the front page")
    waiting = make_story(title="Waiting for a moderator", state=State.IN_REVIEW)

    browser.get(live_server.url + reverse("stories:home"))
    assert "Waiting for a moderator" not in browser.page_source

    browser.get(live_server.url + reverse("admin:login") + "?next=" + reverse("moderation:queue"))
    browser.find_element(By.ID, "id_username").send_keys("mona")
    browser.find_element(By.ID, "id_password").send_keys("pw-mona-secret", Keys.ENTER)
    item = wait_for(browser, (By.ID, f"story-{waiting.pk}"))
    click_and_wait_for_the_next_page(
        browser, item.find_element(By.CSS_SELECTOR, "button[name='action'][value='publish']")
    )
    assert not browser.find_elements(By.ID, f"story-{waiting.pk}")

    browser.get(live_server.url + reverse("stories:home"))
    titles = [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".card__title a")]
    assert "Waiting for a moderator" in titles
    assert "Already on the front page" in titles


def test_the_provider_box_suggests_live_providers_as_the_reader_types(browser, live_server, transactional_db):
    from selenium.webdriver.support.ui import WebDriverWait

    make_story(title="From orbit", provider=make_provider(name="Orbit Daily", domain="orbit.example"))
    make_story(title="From elsewhere", provider=make_provider(name="Other Paper", domain="other.example"))
    make_story(title="Hidden", provider=make_provider(name="Orbital Secrets"), state=State.DRAFT)

    browser.get(live_server.url + reverse("stories:home"))
    browser.find_element(By.CSS_SELECTOR, ".filters summary").click()
    box = browser.find_element(By.ID, "id_provider")
    box.send_keys("orb")

    def suggested(driver):
        values = driver.execute_script(
            "return Array.from(document.getElementById('id_provider-suggestions').options, o => o.value);"
        )
        return values or False

    assert WebDriverWait(browser, 10).until(suggested) == ["orbit.example"]
    box.clear()
    box.send_keys("orbit.example")
    click_and_wait_for_the_next_page(browser, browser.find_element(By.CSS_SELECTOR, ".filter-actions button"))
    titles = [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".card__title a")]
    assert titles == ["From orbit"]
