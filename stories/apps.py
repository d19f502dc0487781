from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _restore_search_triggers(sender, using, **kwargs) -> None:
    from stories.reader.search import ensure_sqlite_search

    ensure_sqlite_search(using)


class StoriesConfig(AppConfig):
    name = "stories"
    verbose_name = "Stories"

    def ready(self) -> None:
        post_migrate.connect(_restore_search_triggers, sender=self, dispatch_uid="stories.search_triggers")
