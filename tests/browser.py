"""Chromium for the tests marked ``browser``: finding it, starting it, waiting on a page.

Without Chromium and chromedriver on PATH those tests skip, all under one line that says how
to enable them; with ``NEWSROOM_REQUIRE_BROWSER=1`` (CI) they fail instead (tests/conftest.py).
"""

from __future__ import annotations

import shutil

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

REQUIRE_VARIABLE = "NEWSROOM_REQUIRE_BROWSER"
MISSING = (
    "browser tests need Chromium and chromedriver, not found on PATH: install the Debian packages "
    f"chromium chromium-driver to run them ({REQUIRE_VARIABLE}=1 makes their absence a failure)"
)

# Headless, and none of the background traffic that a closed network refuses.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,1600",
]


def chromium_binaries() -> tuple[str, str] | None:
    """The Chromium and chromedriver on PATH, or None if either is missing."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    return (chromium, chromedriver) if chromium and chromedriver else None


def start_chromium(chromium: str, chromedriver: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.implicitly_wait(0)
    return driver


def wait_for(driver, locator):
    return WebDriverWait(driver, 10).until(EC.presence_of_element_located(locator))


def click_and_wait_for_the_next_page(driver, element) -> None:
    """Click something that loads a new page, and return once that page has loaded.

    Chromium may answer "node does not belong to the document" while the old page is being
    replaced, so every question asked during the swap is allowed to fail and is asked again.
    """
    old_root = driver.find_element(By.TAG_NAME, "html").id
    element.click()

    def next_page_loaded(driver) -> bool:
        root = driver.find_element(By.TAG_NAME, "html")
        return root.id != old_root and driver.execute_script("return document.readyState") == "complete"

    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(next_page_loaded)
