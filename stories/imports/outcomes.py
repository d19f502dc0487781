"""What an import did with each file (``ImportOutcome``, declared with the runs that record it), and
the report of a whole import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stories.models import ImportOutcome, ImportRun


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
