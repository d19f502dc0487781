"""How the story format says no: ``StoryFileError``, naming the file, the field and the line."""

from __future__ import annotations

from yaml.nodes import Node


class StoryFileError(ValueError):
    """A story file that cannot be imported, with where and why."""

    def __init__(self, message: str, *, path: str = "", field: str = "", line: int | None = None):
        self.message = message
        self.path = path
        self.field = field
        self.line = line
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """The explanation without the path: ``line 4, field 'webUrl': ...``."""
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


# Marks are 0-based, and the front matter starts on the file's second line.
FRONT_MATTER_LINE = 2


def line_of(node: Node | None) -> int | None:
    if node is None or node.start_mark is None:
        return None
    return node.start_mark.line + FRONT_MATTER_LINE


def node_error(message: str, field_name: str, node: Node | None) -> StoryFileError:
    return StoryFileError(message, field=field_name, line=line_of(node))
