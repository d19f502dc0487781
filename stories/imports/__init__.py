"""Importing story files: files → sources → parsed records → a plan → the workflow applies it → rows.

The modules, in the order the data flows through them:

- ``sources``: find, read and hash story files (``StorySource``, ``iter_story_sources``);
- ``parsing``: parse them, in this process or a pool of workers, with one hash lookup per chunk;
- ``rows``: the pure mapping between a parsed record and the rows that hold it;
- ``reconcile``: what a file may change on a stored story, as a ``Plan`` (a pure decision);
- ``references``: the providers and topics the records name;
- ``writer``: bulk rows (COPY on PostgreSQL), the advisory lock, planner statistics;
- ``service``: ``import_stories()``: chunks, savepoints, the run and its outcomes;
- ``conflicts``: a file's values a story kept, and a moderator's accept or dismiss;
- ``revert_plan``: what undoing a run would delete, restore and keep (a preview, reads only);
- ``undo``: ``revert_import_run()``, through the workflow like any other change;
- ``export``, ``uploads``, ``preview``, ``spreadsheet``: the other ways stories come and go.

Import what you need from its module: the package itself imports nothing, so that using one
part (the admin's preview, the command, the spreadsheet) does not load the rest.
"""
