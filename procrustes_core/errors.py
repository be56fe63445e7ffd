"""The one error type a user can cause, its divergence subtype, and how messages show values."""

from __future__ import annotations

import os
import reprlib
from typing import Any

SHOWN_CHARS = 40  # a value in a message: its first 40 characters, then '…'
SHOWN_PATH_CHARS = 120  # paths keep more, and their end (the file name) rather than their start


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


class _BoundedRepr(reprlib.Repr):
    """``repr`` that stays small whatever it is given: deep nesting, long lists, huge integers."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = self.maxdeque = 8
        self.maxlong = self.maxother = 4 * SHOWN_CHARS
        self.maxstring = 4 * SHOWN_PATH_CHARS  # long enough that a cut path still ends in its file name

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4000:  # past Python's int → str limit (4300 digits) repr itself raises
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)


_REPR = _BoundedRepr()


def shown(value: Any, limit: int = SHOWN_CHARS, tail: bool = False, quote: bool = True) -> str:
    """``value`` as a message shows it: its repr on one line (``quote=False``: a string as it is),
    cut to ``limit`` characters and '…' (``tail``: the last ones, for paths). Never raises."""
    if not quote and isinstance(value, str):
        text = "".join(ch if ch.isprintable() else " " for ch in value).strip()
    else:
        try:
            text = _REPR.repr(value)
        except Exception:  # noqa: BLE001 - a value whose repr fails is still named by its type
            text = f"<{type(value).__name__}>"
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    if len(text) <= limit:
        return text
    return "…" + text[-limit:] if tail else text[:limit] + "…"


def shown_path(path: str | os.PathLike | Any) -> str:
    """A path as messages show it: quoted, and if long its last characters (where the file name is)."""
    try:
        text = os.fspath(path)
    except TypeError:
        return shown(path)
    return shown(os.fsdecode(text), SHOWN_PATH_CHARS, tail=True)
