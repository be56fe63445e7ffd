"""Safe file writes: a temporary file in the same folder, then an atomic rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import ProcrustesError


def atomic_write_text(path: str | os.PathLike, text: str, what: str = "out") -> Path:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the whole new one, never half."""
    return atomic_write_bytes(path, text.encode("utf-8"), what)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, what: str = "out") -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never half."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ProcrustesError(f"{what}={str(path)!r}: folder {str(folder)!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
