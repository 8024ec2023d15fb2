"""Errors of file ingestion: a bad file fails its task with a message saying what to fix."""

from __future__ import annotations


class FileIngestError(RuntimeError):
    """A whole file cannot be ingested. The message names the file, what is wrong and what to fix."""

    def __init__(self, file: str, problem: str, fix: str) -> None:
        self.file = file
        self.problem = problem
        self.fix = fix
        super().__init__(f"{file}: {problem}. Fix: {fix}")


class CellError(ValueError):
    """One cell cannot be converted; ``reason`` is short and value-free so reasons group well."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class MissingSourceError(FileIngestError):
    """A business day's expected files are not there (no folder, or files missing): nothing is landed.

    ``folder`` is the day's drop folder, ``missing`` the expected file names (``display_name``).
    The cure is the file, not the code: a retry succeeds once the file arrives.
    """

    def __init__(self, entity: str, folder: str, problem: str, missing: list[str], fix: str) -> None:
        self.entity = entity
        self.folder = folder
        self.missing = list(missing)
        self.file, self.problem, self.fix = folder, problem, fix
        RuntimeError.__init__(self, f"{problem}. Fix: {fix}")  # the problem names the folder(s) itself
