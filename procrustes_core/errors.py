"""The one error type a user can cause, and its divergence subtype."""

from __future__ import annotations


class ProcrustesError(ValueError):
    """A problem the user can fix: a bad value, a missing folder, a corrupt file.

    The message is always one line naming what is wrong, the value and what is allowed,
    so every front end can show it as it is, without a traceback.
    """


class TrainingDiverged(ProcrustesError):
    """The loss became non-finite; ``history`` holds the epochs finished before that."""

    def __init__(self, message: str, history=None):
        super().__init__(message)
        self.history = history
