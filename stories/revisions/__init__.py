"""What the admin and the queue do with a story's revisions: compare two, restore one.

``compare`` is pure (two ``Revision.data`` snapshots in, a field-by-field ``Comparison``
out); ``restore`` puts an older revision back as a new one, through the workflow.
"""
