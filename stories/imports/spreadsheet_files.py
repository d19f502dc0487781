"""Spreadsheet files of stories, which are untrusted in both directions.

Export: a cell that a spreadsheet program would run as a formula (it starts with
``= + - @``, a tab or a carriage return) is written with a leading apostrophe,
in every format, and XLSX cells holding text are always text cells, never
formulas. The escape is reversible: a value that starts with an apostrophe gets
one too, and import takes exactly one off (``unescape_formula``), so our own
export imports back without losing or changing anything.

Import: a file is refused, with a message meant for the user and before it is
kept or read whole, when it is over ``NEWSROOM_SPREADSHEET_MAX_BYTES`` (an XLSX
file also when unpacked) or holds more than ``NEWSROOM_SPREADSHEET_MAX_ROWS``
rows. CSV and XLSX are read row by row; JSON and YAML are bounded by their size,
and YAML is read under the story files' rules (``storyfile.load_yaml``: no anchors
or aliases, the "billion laughs").

Between preview and confirm the file waits in ``PrivateTmpStorage``: a private
directory (``NEWSROOM_SPREADSHEET_DIR``, never served) under a random name that
the confirm form carries signed for the user, for ``NEWSROOM_UPLOAD_TTL_SECONDS``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import tablib
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from import_export.formats import base_formats
from import_export.tmp_storages import BaseStorage

from stories.storyfile import StoryFileError, load_yaml

from . import uploads
from .uploads import size_text

# OWASP's list for CSV injection, and the full-width forms some spreadsheet programs read the same way.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
ESCAPE = "'"
# "-5" or "+1.5e3" is a number to every spreadsheet program, not a formula: left as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
XLSX_MAX_CELL_CHARS = 32767
# Our export has 13 columns; a row is held as a dict of its columns while it imports.
MAX_COLUMNS = 100
SCALARS = (str, int, float, bool, Decimal, datetime, date, time, type(None))


def escape_formula(value: str) -> str:
    """The text as a spreadsheet cell that no program runs as a formula; ``unescape_formula`` undoes it."""
    if value.startswith((*FORMULA_TRIGGERS, ESCAPE)) and not _PLAIN_NUMBER.fullmatch(value):
        return ESCAPE + value
    return value


def unescape_formula(value: Any) -> Any:
    """The cell's value as it was before ``escape_formula``."""
    if isinstance(value, str) and value.startswith(ESCAPE):
        return value[1:]
    return value


class SpreadsheetRefused(ValueError):
    """A spreadsheet file that breaks a limit or cannot be read. The message is for the user."""


@dataclass(frozen=True)
class SpreadsheetLimits:
    max_bytes: int
    max_rows: int
    ttl_seconds: int

    @classmethod
    def from_settings(cls) -> SpreadsheetLimits:
        return cls(
            max_bytes=settings.NEWSROOM_SPREADSHEET_MAX_BYTES,
            max_rows=settings.NEWSROOM_SPREADSHEET_MAX_ROWS,
            ttl_seconds=settings.NEWSROOM_UPLOAD_TTL_SECONDS,
        )


def too_large(limits: SpreadsheetLimits) -> SpreadsheetRefused:
    return SpreadsheetRefused(f"The file is too large: at most {size_text(limits.max_bytes)}.")


def too_many_rows(limits: SpreadsheetLimits) -> SpreadsheetRefused:
    return SpreadsheetRefused(
        f"The file has more than {limits.max_rows:,} rows: split it, or export a filtered list."
    )


# --- reading ---------------------------------------------------------------------------------


class _Chunks(io.RawIOBase):
    """A readable stream over an iterable of byte chunks (an upload's ``chunks()``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _binary(source) -> io.BufferedIOBase:
    """A binary stream over bytes, text, a file or an uploaded file, read from the start."""
    if isinstance(source, str):
        source = source.encode()
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    source.seek(0)
    if hasattr(source, "chunks"):
        return io.BufferedReader(_Chunks(source.chunks()))
    return source


def _text(source, encoding: str | None) -> io.TextIOBase:
    if isinstance(source, str):
        return io.StringIO(source, newline="")
    return io.TextIOWrapper(_binary(source), encoding=encoding or "utf-8-sig", newline="")


def _read_text(source, encoding: str | None, limits: SpreadsheetLimits) -> str:
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        text = _text(source, encoding).read(limits.max_bytes + 1)
    except UnicodeDecodeError:
        raise SpreadsheetRefused("The file is not UTF-8 text.") from None
    if len(text.encode()) > limits.max_bytes:
        raise too_large(limits)
    return text


def _blank(row: list[Any]) -> bool:
    return all(value is None or value == "" for value in row)


def _fitted(rows: Iterator[list[Any]], limits: SpreadsheetLimits) -> Iterator[list[Any]]:
    """The header, then each row fitted to it; refused past the row or column limit, before reading on.

    Short rows are padded; a value outside the named columns is refused.
    """
    header = next(rows, None)
    if header is None:
        return
    headers = ["" if name is None else str(name).strip() for name in header]
    while headers and headers[-1] == "":
        headers.pop()
    if len(headers) > MAX_COLUMNS:
        raise SpreadsheetRefused(f"The file has more than {MAX_COLUMNS} columns.")
    yield headers
    width = len(headers)
    for number, row in enumerate(rows, start=1):
        if number > limits.max_rows:
            raise too_many_rows(limits)
        values = list(row)
        if not _blank(values[width:]):
            raise SpreadsheetRefused(f"Row {number} has a value in a column without a name.")
        yield values[:width] + [""] * (width - len(values))


def build_dataset(rows: Iterator[list[Any]], limits: SpreadsheetLimits) -> tablib.Dataset:
    """A dataset of the header and the rows, within the limits."""
    dataset = tablib.Dataset()
    fitted = _fitted(rows, limits)
    headers = next(fitted, None)
    if headers is not None:
        dataset.headers = headers
        for row in fitted:
            dataset.append(row)
    return dataset


class _Rows:
    """What our formats add: reading rows within the limits."""

    def rows(self, source, limits: SpreadsheetLimits) -> Iterator[list[Any]]:
        raise NotImplementedError

    def check(self, upload, limits: SpreadsheetLimits | None = None) -> None:
        """Refuse an uploaded file over the limits, reading it row by row and keeping nothing."""
        limits = limits or SpreadsheetLimits.from_settings()
        if upload.size > limits.max_bytes:
            raise too_large(limits)
        for _row in _fitted(self.rows(upload, limits), limits):
            pass  # checking needs no values kept

    def create_dataset(self, in_stream, **kwargs) -> tablib.Dataset:
        limits = SpreadsheetLimits.from_settings()
        return build_dataset(self.rows(in_stream, limits), limits)


class SafeCSV(_Rows, base_formats.CSV):
    def rows(self, source, limits):
        if isinstance(source, bytes | bytearray):
            source = io.BytesIO(source)
        try:
            for row in csv.reader(_text(source, self.encoding)):
                if row and not _blank(row):
                    yield row
        except UnicodeDecodeError:
            raise SpreadsheetRefused("The file is not UTF-8 text: save it as CSV UTF-8.") from None
        except csv.Error as exc:
            raise SpreadsheetRefused(f"The CSV file cannot be read: {exc}.") from None


class SafeXLSX(_Rows, base_formats.XLSX):
    def rows(self, source, limits):
        import openpyxl

        stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
        stream.seek(0)
        try:
            with zipfile.ZipFile(stream) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, EOFError):
            raise SpreadsheetRefused("The file is not an XLSX workbook.") from None
        # zipfile never reads past a member's declared size, so this bounds what openpyxl unpacks.
        if unpacked > limits.max_bytes:
            raise SpreadsheetRefused(
                f"The XLSX file unpacks to {size_text(unpacked)}: at most {size_text(limits.max_bytes)}."
            )
        stream.seek(0)
        try:
            book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds of errors for a broken workbook
            raise SpreadsheetRefused(f"The XLSX file cannot be read ({exc.__class__.__name__}).") from None
        try:
            sheet = book.active
            # A declared dimension of A1:XFD1048576 would pad every row to 16,384 cells.
            sheet.reset_dimensions()
            for row in sheet.iter_rows(values_only=True):
                values = list(row)
                if not _blank(values):
                    yield values
        finally:
            book.close()

    def export_data(self, dataset: tablib.Dataset, **kwargs) -> bytes:
        """The workbook with text always in text cells: a value is never read as a formula or an error."""
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        longest = max((len(str(v)) for row in dataset for v in row if v is not None), default=0)
        if longest > XLSX_MAX_CELL_CHARS:
            # openpyxl would cut it short without a word.
            raise ValueError(
                f"A value of {longest:,} characters does not fit in an XLSX cell "
                f"(at most {XLSX_MAX_CELL_CHARS:,}): export as CSV, JSON or YAML instead."
            )
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title="Stories")
        sheet.freeze_panes = "A2"

        def cell(value: Any):
            if not isinstance(value, str):
                try:
                    return WriteOnlyCell(sheet, value=value)
                except (ValueError, TypeError):
                    value = str(value)
            # XML cannot hold control characters at all; everything else is kept as it is.
            text = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
            text.data_type = "s"
            return text

        sheet.append([cell(name) for name in dataset.headers or []])
        for row in dataset:
            sheet.append([cell(value) for value in row])
        stream = io.BytesIO()
        book.save(stream)
        return stream.getvalue()


def _mapping_rows(data: Any) -> Iterator[list[Any]]:
    """Rows of a JSON or YAML list of mappings, each value put under its own column."""
    if data is None:
        return
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise SpreadsheetRefused("The file must hold a list of rows, each a mapping of column to value.")
    if not data:
        return
    headers = list(data[0])
    yield headers
    for number, item in enumerate(data, start=1):
        unknown = ", ".join(str(key) for key in item if key not in headers)
        if unknown:
            raise SpreadsheetRefused(f"Row {number} has columns that the first row has not: {unknown}.")
        values = [item.get(key) for key in headers]
        for key, value in zip(headers, values, strict=True):
            if not isinstance(value, SCALARS):
                raise SpreadsheetRefused(f"Row {number}, column {key}: a cell holds one value, not a list.")
        yield values


class SafeJSON(_Rows, base_formats.JSON):
    def rows(self, source, limits):
        text = _read_text(source, self.encoding, limits)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise SpreadsheetRefused(f"The JSON file cannot be read: {exc}.") from None
        yield from _mapping_rows(data)


class SafeYAML(_Rows, base_formats.YAML):
    def rows(self, source, limits):
        text = _read_text(source, self.encoding, limits)
        try:
            # The story files' rules: no anchors or aliases (a few aliases nest into billions of
            # values), no tags, bounded nesting.
            data = load_yaml(text)
        except StoryFileError as exc:
            raise SpreadsheetRefused(f"The YAML file cannot be read: {exc.reason}.") from None
        yield from _mapping_rows(data)


FORMATS = [SafeCSV, SafeXLSX, SafeJSON, SafeYAML]


# --- between preview and confirm -------------------------------------------------------------

NAME_RE = re.compile(r"[A-Za-z0-9_-]{32}")


def storage_root() -> Path:
    root = Path(settings.NEWSROOM_SPREADSHEET_DIR)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


class PrivateTmpStorage(BaseStorage):
    """Where an uploaded spreadsheet waits between preview and confirm.

    Files live in a private directory under random names of our own; any other
    name is refused before it touches the file system. Leftovers of previews never
    confirmed are removed after the time-to-live, whenever a new file is saved.
    """

    def _path(self) -> Path:
        if not isinstance(self.name, str) or not NAME_RE.fullmatch(self.name):
            raise SuspiciousFileOperation(f"Not a stored spreadsheet name: {self.name!r}")
        return storage_root() / self.name

    def save(self, data: bytes | str) -> None:
        self.save_chunks([data])

    def save_chunks(self, chunks: Iterable[bytes | str]) -> None:
        root = storage_root()
        uploads.expire_entries(root, ttl_seconds=SpreadsheetLimits.from_settings().ttl_seconds)
        self.name = secrets.token_urlsafe(24)
        descriptor = os.open(self._path(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                for chunk in chunks:
                    out.write(chunk.encode(self.encoding or "utf-8") if isinstance(chunk, str) else chunk)
        except BaseException:
            self._path().unlink(missing_ok=True)
            raise

    def exists(self) -> bool:
        try:
            return self._path().is_file()
        except SuspiciousFileOperation:
            return False

    def read(self) -> bytes | str:
        data = self._path().read_bytes()
        if "b" in self.read_mode:
            return data
        return data.decode(self.encoding or "utf-8")

    def remove(self) -> None:
        self._path().unlink(missing_ok=True)
