"""Move the state that used to hide in JSON meant for formatting into its own columns, and back.

``Story.layout["published"]`` → ``Story.file_published``; ``Story.layout["seen"]`` →
``Story.superseded_hashes``; ``Image.thumbnails["origin"]`` and ``["source_url"]`` →
``Image.origin`` and ``Image.source_url``. Reversing puts every value back where it was.
"""

from django.db import migrations

BATCH = 1000


def _batched(queryset):
    return queryset.order_by("pk").iterator(chunk_size=BATCH)


def _save(model, rows, fields):
    if rows:
        model.objects.bulk_update(rows, fields, batch_size=BATCH)
    rows.clear()


def forwards(apps, schema_editor):
    Story = apps.get_model("stories", "Story")
    Image = apps.get_model("stories", "Image")
    changed = []
    for story in _batched(Story.objects.all()):
        layout = dict(story.layout or {})
        if "published" not in layout and "seen" not in layout:
            continue
        story.file_published = layout.pop("published", None)
        story.superseded_hashes = list(layout.pop("seen", []))
        story.layout = layout
        changed.append(story)
        if len(changed) >= BATCH:
            _save(Story, changed, ["layout", "file_published", "superseded_hashes"])
    _save(Story, changed, ["layout", "file_published", "superseded_hashes"])
    for image in _batched(Image.objects.all()):
        thumbnails = dict(image.thumbnails or {})
        if "origin" not in thumbnails and "source_url" not in thumbnails:
            continue
        image.origin = thumbnails.pop("origin", "") or ""
        image.source_url = thumbnails.pop("source_url", "") or ""
        image.thumbnails = thumbnails
        changed.append(image)
        if len(changed) >= BATCH:
            _save(Image, changed, ["thumbnails", "origin", "source_url"])
    _save(Image, changed, ["thumbnails", "origin", "source_url"])


def backwards(apps, schema_editor):
    Story = apps.get_model("stories", "Story")
    Image = apps.get_model("stories", "Image")
    changed = []
    for story in _batched(Story.objects.all()):
        layout = dict(story.layout or {})
        # The file had the key (even as null) when its key order names it.
        had_flag = story.file_published is not None or "published" in layout.get("keys", ())
        if not had_flag and not story.superseded_hashes:
            continue
        if had_flag:
            layout["published"] = story.file_published
        if story.superseded_hashes:
            layout["seen"] = list(story.superseded_hashes)
        story.layout = layout
        changed.append(story)
        if len(changed) >= BATCH:
            _save(Story, changed, ["layout"])
    _save(Story, changed, ["layout"])
    for image in _batched(Image.objects.exclude(origin="", source_url="")):
        thumbnails = dict(image.thumbnails or {})
        if image.origin:
            thumbnails["origin"] = image.origin
        if image.source_url:
            thumbnails["source_url"] = image.source_url
        image.thumbnails = thumbnails
        changed.append(image)
        if len(changed) >= BATCH:
            _save(Image, changed, ["thumbnails"])
    _save(Image, changed, ["thumbnails"])


class Migration(migrations.Migration):
    dependencies = [("stories", "0009_explicit_import_state")]

    operations = [migrations.RunPython(forwards, backwards)]
