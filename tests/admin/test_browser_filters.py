"""An editor in a real Chromium filters the story list by a provider chosen through the autocomplete."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import wait_for
from tests.conftest import make_provider, make_story

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_filters_the_story_list_by_an_autocompleted_provider(
    browser, live_server, transactional_db, django_user_model
):
    editor = django_user_model.objects.create_user(
        username="eddie", password="pw-eddie-secret", is_staff=True
    )
    # Transactional tests flush the groups the migrations create: an editor's permissions directly.
    editor.user_permissions.add(
        Permission.objects.get(content_type__app_label="providers", codename="view_provider"),
        *Permission.objects.filter(
            content_type__app_label="stories", codename__in=["view_story", "change_story"]
        ),
    )
    make_story(title="From the harbour", provider=make_provider(name="Harbour Times"))
    make_story(title="From the hills", provider=make_provider(name="Hill Gazette"))

    changelist = reverse("admin:stories_story_changelist")
    browser.get(live_server.url + reverse("admin:login") + "?next=" + changelist)
    browser.find_element(By.ID, "id_username").send_keys("eddie")
    browser.find_element(By.ID, "id_password").send_keys("pw-eddie-secret", Keys.ENTER)
    wait_for(browser, (By.LINK_TEXT, "From the hills"))

    # select2 draws its own box beside the hidden select; typing asks the admin's autocomplete.
    browser.find_element(By.CSS_SELECTOR, "[data-filter-title='provider'] .select2-selection").click()
    wait_for(browser, (By.CSS_SELECTOR, ".select2-search__field")).send_keys("harb")
    wait_for(
        browser,
        (By.XPATH, "//li[contains(@class, 'select2-results__option') and contains(., 'Harbour Times')]"),
    )
    browser.switch_to.active_element.send_keys(Keys.ENTER)

    WebDriverWait(browser, 10).until(lambda driver: "provider__id__exact=" in driver.current_url)
    titles = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")]
    assert titles == ["From the harbour"]
