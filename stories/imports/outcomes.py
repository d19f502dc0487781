"""What an import did with each file: one vocabulary for the importer, the runs, the admin and the command."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from stories.models import ImportRun


class ImportOutcome(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    CONFLICT = "conflict", "Conflict, the story's values kept"
    FAILED = "failed", "Failed"

    @property
    def count_key(self) -> str:
        """The name of this outcome's count in ``ImportReport.counts`` and on ``ImportRun``."""
        return "conflicts" if self is ImportOutcome.CONFLICT else self.value

    @property
    def wrote(self) -> bool:
        """Whether a file with this outcome may have written to its story."""
        return self in (ImportOutcome.CREATED, ImportOutcome.UPDATED, ImportOutcome.CONFLICT)


@dataclass
class FileResult:
    path: str
    outcome: ImportOutcome
    story_id: int | None = None
    reason: str = ""
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    title: str = ""
    held: list[str] = field(default_factory=list)  # those conflicts held for a moderator

    @property
    def kept(self) -> list[str]:
        """The conflicts that kept a person's value (the others are held for a moderator)."""
        return [name for name in self.conflicts if name not in self.held]


def _zero_counts() -> dict[str, int]:
    return {outcome.count_key: 0 for outcome in ImportOutcome}


@dataclass
class ImportReport:
    run: ImportRun | None
    counts: dict[str, int] = field(default_factory=_zero_counts)
    results: list[FileResult] = field(default_factory=list)
    dry_run: bool = False
    keep_results: bool = True
    failure_rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def failures(self) -> list[FileResult]:
        return [r for r in self.results if r.outcome == ImportOutcome.FAILED]

    def add(self, result: FileResult) -> None:
        if self.keep_results:
            self.results.append(result)
        self.counts[ImportOutcome(result.outcome).count_key] += 1
        if result.outcome == ImportOutcome.FAILED and self.run is not None:
            self.failure_rows.append({"path": result.path, "reason": result.reason})

    def summary(self) -> str:
        c = self.counts
        return (
            f"created {c['created']}, updated {c['updated']}, unchanged {c['unchanged']}, "
            f"conflicts {c['conflicts']}, failed {c['failed']}"
        )
