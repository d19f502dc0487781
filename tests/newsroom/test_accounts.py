"""Staff login: throttled per account and per address, and a password reset by email."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from newsroom.settings import email_from_environment

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def moderator_account(django_user_model):
    return django_user_model.objects.create_user(
        "morgan", email="morgan@news.example", password=PASSWORD, is_staff=True
    )


def log_in(client, username: str, password: str, address: str = "192.0.2.10"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=address,
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("admin:index")


def fail_until_locked(client, username: str, address: str = "192.0.2.10") -> None:
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        response = log_in(client, username, f"wrong-{attempt}", address)
        assert response.status_code == 200, "refused by the form, not locked yet"
    assert log_in(client, username, "wrong-last", address).status_code == 429


def test_a_correct_password_logs_in(client, moderator_account):
    assert logged_in(log_in(client, "morgan", PASSWORD))


def test_repeated_wrong_passwords_lock_the_account_with_a_clear_message(client, moderator_account):
    fail_until_locked(client, "morgan")

    response = log_in(client, "morgan", PASSWORD)

    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed logins" in body
    assert f"after {settings.AXES_FAILURE_LIMIT} failed attempts" in body
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"Try again in {minutes} minutes" in body
    assert reverse("admin_password_reset") in body
    assert "_auth_user_id" not in client.session


def test_the_account_lock_holds_from_every_address(client, moderator_account):
    fail_until_locked(client, "morgan", address="192.0.2.10")

    assert log_in(client, "morgan", PASSWORD, address="198.51.100.7").status_code == 429


def test_guessing_many_accounts_from_one_address_locks_the_address(client, moderator_account):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{n}", "wrong", address="203.0.113.9")

    assert log_in(client, "morgan", PASSWORD, address="203.0.113.9").status_code == 429
    assert logged_in(log_in(client, "morgan", PASSWORD, address="192.0.2.44"))


def test_the_lock_ends_after_the_cool_off(client, moderator_account):
    fail_until_locked(client, "morgan")

    long_ago = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.update(attempt_time=long_ago)

    assert logged_in(log_in(client, "morgan", PASSWORD))


def test_a_few_mistakes_then_success_start_the_count_again(client, moderator_account):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "morgan", "typo")
    assert logged_in(log_in(client, "morgan", PASSWORD))
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "morgan", "typo")
    assert logged_in(log_in(client, "morgan", PASSWORD))


def test_the_login_page_offers_a_password_reset(client):
    body = client.get(reverse("admin:login")).content.decode()
    assert reverse("admin_password_reset") in body


def reset_link(mail, site_url: str) -> str:
    match = re.search(re.escape(site_url) + r"(/reset/[^/\s]+/[^/\s]+/)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_the_whole_password_reset_flow(client, moderator_account, mailoutbox, settings):
    settings.SITE_URL = "https://news.example.org"

    response = client.post(reverse("admin_password_reset"), {"email": "morgan@news.example"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["morgan@news.example"]
    assert "morgan" in mail.body

    form_page = client.get(reset_link(mail, settings.SITE_URL), follow=True)
    assert form_page.status_code == 200
    assert "new_password1" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase 42", "new_password2": "a brand new passphrase 42"},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")
    assert client.get(done["Location"]).status_code == 200

    assert not logged_in(log_in(client, "morgan", PASSWORD))
    assert logged_in(log_in(client, "morgan", "a brand new passphrase 42"))


def test_a_reset_link_names_the_public_site_whatever_host_was_asked(
    client, moderator_account, mailoutbox, settings
):
    settings.SITE_URL = "https://news.example.org"
    settings.ALLOWED_HOSTS = ["attacker.example", "news.example.org"]

    client.post(
        reverse("admin_password_reset"), {"email": "morgan@news.example"}, HTTP_HOST="attacker.example"
    )

    assert "https://news.example.org/reset/" in mailoutbox[0].body
    assert "attacker.example" not in mailoutbox[0].body


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, moderator_account, mailoutbox):
    response = client.post(reverse("admin_password_reset"), {"email": "nobody@news.example"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mailoutbox == []


def test_setting_a_new_password_lifts_the_account_lock(client, moderator_account, mailoutbox, settings):
    settings.SITE_URL = "https://news.example.org"
    fail_until_locked(client, "morgan", address="192.0.2.10")

    client.post(reverse("admin_password_reset"), {"email": "morgan@news.example"})
    form_page = client.get(reset_link(mailoutbox[0], settings.SITE_URL), follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase 42", "new_password2": "a brand new passphrase 42"},
    )

    assert logged_in(log_in(client, "morgan", "a brand new passphrase 42", address="198.51.100.7"))


def test_a_used_reset_link_does_not_work_twice(client, moderator_account, mailoutbox, settings):
    settings.SITE_URL = "https://news.example.org"
    client.post(reverse("admin_password_reset"), {"email": "morgan@news.example"})
    link = reset_link(mailoutbox[0], settings.SITE_URL)
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase 42", "new_password2": "a brand new passphrase 42"},
    )

    again = client.get(link, follow=True)

    assert "new_password1" not in again.content.decode()
    assert "invalid" in again.content.decode().lower()


def test_development_prints_mail_and_production_sends_it_over_smtp(monkeypatch):
    monkeypatch.setenv("EMAIL_HOST", "smtp.news.example")
    monkeypatch.setenv("EMAIL_USE_TLS", "true")
    monkeypatch.setenv("EMAIL_HOST_USER", "mailer")

    development = email_from_environment(debug=True)
    production = email_from_environment(debug=False)

    assert development["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert production["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (production["EMAIL_HOST"], production["EMAIL_PORT"], production["EMAIL_USE_TLS"]) == (
        "smtp.news.example", 587, True
    )
    assert production["EMAIL_HOST_USER"] == "mailer"


def test_tls_and_ssl_together_fail_loudly(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("EMAIL_USE_TLS", "true")
    monkeypatch.setenv("EMAIL_USE_SSL", "true")
    with pytest.raises(ImproperlyConfigured):
        email_from_environment(debug=False)
