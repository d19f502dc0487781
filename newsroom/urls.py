from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from newsroom import accounts
from newsroom.health import healthz
from stories.admin.images import lead_image_view
from stories.reader.caching import reader_page
from stories.reader.sitemaps import SITEMAPS
from stories.reader.views import robots_txt

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("admin/stories/story/<int:story_id>/lead-image/", lead_image_view, name="story_lead_image"),
    *accounts.urlpatterns,
    path("admin/", admin.site.urls),
    path("moderation/", include("stories.moderation.urls")),
    path(
        "sitemap.xml",
        reader_page(sitemap_views.index, params=["p"]),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        reader_page(sitemap_views.sitemap, params=["p"]),
        {"sitemaps": SITEMAPS},
        name="sitemap_section",
    ),
    path("robots.txt", robots_txt, name="robots_txt"),
    path("", include("stories.reader.urls")),
]

# Cached images and uploads in development; a web server serves MEDIA_ROOT in production.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
