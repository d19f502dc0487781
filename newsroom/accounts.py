"""Staff accounts: login throttling (django-axes) and the password reset flow.

The reset pages are Django's own auth views with the admin's templates
(``registration/password_reset_*.html`` of ``django.contrib.admin``), so the
admin login page offers "Forgotten your password?" by itself.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

LOCKED_OUT_STATUS = 429


def client_address(request: HttpRequest) -> str | None:
    """The address login failures are counted against.

    Behind our TLS proxy every request comes from the proxy: the client is the
    address the proxy appended last to X-Forwarded-For (earlier entries are
    whatever the client claimed).
    """
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The page a locked-out login gets: why, for how long, and the way out (a password reset)."""
    return render(
        request,
        "admin/lockout.html",
        {
            "title": "Login locked",
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
        status=LOCKED_OUT_STATUS,
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Mail the reset link on the public site (``SITE_URL``), never on the host a request names."""

    def form_valid(self, form):
        site = urlsplit(settings.SITE_URL)
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            html_email_template_name=self.html_email_template_name,
            extra_email_context={"site_name": "Newsroom"},
        )
        # FormView's redirect to the "email sent" page, without Django's own save.
        return super(auth_views.PasswordResetView, self).form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Whoever proves they own the account's mailbox may log in again at once."""

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_login_failures(username=form.user.get_username())
        return response


urlpatterns = [
    path("admin/password_reset/", PasswordResetView.as_view(), name="admin_password_reset"),
    path(
        "admin/password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"
    ),
    path("reset/<uidb64>/<token>/", PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
