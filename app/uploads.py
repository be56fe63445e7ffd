"""Files a learner uploads, read once: each is parsed the first time it is seen (known by its content
hash) and its result — the value, or the one line saying why it was refused — is kept for the session,
so a rerun of the page costs a dictionary look-up, not a parse. A session holds at most
``PROCRUSTES_MAX_UPLOADS`` files and ``PROCRUSTES_MAX_UPLOAD_MB`` in all; a file past either cap is
refused without being read. Any page that takes uploads (run files, a learner's own data) reads them here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from procrustes_core import ProcrustesError
from procrustes_core.errors import shown


class UploadedFile(Protocol):
    """What Streamlit's uploaded file offers and this module uses."""

    name: str
    size: int
    file_id: str

    def getvalue(self) -> bytes: ...


@dataclass(frozen=True)
class Upload:
    """One uploaded file as the page uses it: its name and the parsed value, or why it was refused."""

    name: str
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def read_uploads(files: Sequence[UploadedFile] | None, parse: Callable[[bytes, str], Any],
                 cache: MutableMapping[str, Any], max_files: int, max_total_bytes: int,
                 max_file_bytes: int) -> list[Upload]:
    """Every file of an uploader, in order, each parsed at most once per session.

    ``parse(data, name)`` returns the value or raises ``ProcrustesError`` (its one line is kept as the
    refusal). ``cache`` is the session's own mapping for this uploader (e.g. a dict in
    ``st.session_state``); entries of files no longer given are dropped from it."""
    by_file: dict[str, str] = cache.setdefault("files", {})  # Streamlit's file id → content hash
    results: dict[str, tuple[Any, str | None]] = cache.setdefault("results", {})  # hash → (value, error)
    found, total, seen_ids, kept = [], 0, set(), set()
    for count, upload in enumerate(files or [], start=1):
        name = shown(str(upload.name), 80, quote=False) or "(no name)"
        size = int(upload.size)
        seen_ids.add(upload.file_id)
        if count > max_files:
            found.append(Upload(name, error=f"{name}: more than {max_files} files at once on this server "
                                            "(PROCRUSTES_MAX_UPLOADS); remove one to add another"))
            continue
        if size > max_file_bytes:
            found.append(Upload(name, error=f"{name}: {size} bytes, more than the {max_file_bytes // 1_000_000} MB "
                                            "one file may hold here"))
            continue
        if total + size > max_total_bytes:
            found.append(Upload(name, error=f"{name}: the files given here would hold more than "
                                            f"{max_total_bytes // 1_000_000} MB in all (PROCRUSTES_MAX_UPLOAD_MB); "
                                            "remove one to add another"))
            continue
        total += size
        digest = by_file.get(upload.file_id)
        if digest is None:
            data = upload.getvalue()
            digest = hashlib.sha256(data).hexdigest()
            by_file[upload.file_id] = digest
            if digest not in results:
                results[digest] = _parsed(parse, data, name)
        kept.add(digest)
        value, error = results[digest]
        found.append(Upload(name, value, None if error is None else f"{name}: {error}"))
    for file_id in [f for f in by_file if f not in seen_ids]:
        del by_file[file_id]
    for digest in [d for d in results if d not in kept]:
        del results[digest]
    return found


def _parsed(parse: Callable[[bytes, str], Any], data: bytes, name: str) -> tuple[Any, str | None]:
    try:
        return parse(data, name), None
    except ProcrustesError as err:
        message = str(err)
        prefix = f"{name}: "
        return None, message[len(prefix):] if message.startswith(prefix) else message
    except (ValueError, TypeError, RecursionError, MemoryError, OverflowError) as err:
        return None, f"cannot be read ({type(err).__name__})"
