# Indexes that serve the reader's listing orders exactly (stories/models/orders.py).

import datetime
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0012_import_conflicts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce(
                        models.F("published_at"),
                        models.Value(datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)),
                    ),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("state", "published")),
                name="story_live_new",
            ),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce(models.F("heat"), models.Value(-1000001)),
                    descending=True,
                ),
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce(
                        models.F("published_at"),
                        models.Value(datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)),
                    ),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("state", "published")),
                name="story_live_hot",
            ),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce(
                        models.F("quality"), models.Value(-1000001)
                    ),
                    descending=True,
                ),
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce(
                        models.F("published_at"),
                        models.Value(datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)),
                    ),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("state", "published")),
                name="story_live_top",
            ),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                models.F("provider"),
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce(
                        models.F("published_at"),
                        models.Value(datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)),
                    ),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("state", "published")),
                name="story_live_provider_new",
            ),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                condition=models.Q(("state", "published")), fields=["-updated_at"], name="story_live_updated"
            ),
        ),
        migrations.AddIndex(
            model_name="story",
            index=models.Index(
                condition=models.Q(("state", "published")), fields=["id"], name="story_live_id"
            ),
        ),
    ]
