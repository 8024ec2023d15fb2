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
