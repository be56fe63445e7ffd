"""Reading a folder of class sub-folders of images (the layout torchvision's ``ImageFolder`` reads:
``FOLDER/CLASS/IMAGE.png``) into arrays, refusing a corrupt or truncated image by its name. No torch.

Class names are the sub-folders' names; PNG and JPEG files are read (hidden files and other files are
skipped); every image is resized to the most common size among them (its longer side at most
``MAX_SIDE``), grey when every image is grey, else colour (RGB).
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import ProcrustesError, shown, shown_path
from .split import MAX_CLASSES

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_SIDE = 64  # pixels of an image's longer side once resized: small networks on a CPU
MAX_IMAGES = 200_000
MAX_PIXELS = 50_000_000  # of one image before resizing (a larger one is refused, not decoded)
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def image_files(root: Path, where: str) -> tuple[list[str], list[list[Path]]]:
    """The class names and each class's image files, sorted; or one line saying why there are none."""
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as err:
        raise ProcrustesError(f"{where}: cannot be read ({err.strerror or err})") from None
    if not folders:
        raise ProcrustesError(f"{where}: no class sub-folders (expected FOLDER/CLASS/IMAGE.png, the layout of "
                              "torchvision's ImageFolder)")
    if len(folders) > MAX_CLASSES:
        raise ProcrustesError(f"{where}: {len(folders)} class sub-folders, at most {MAX_CLASSES} classes")
    if len(folders) == 1:
        raise ProcrustesError(f"{where}: one class only ({shown(folders[0].name)}); a classifier needs at least 2 "
                              "class sub-folders")
    files: list[list[Path]] = []
    for folder in folders:
        found = []
        for base, dirs, names in os.walk(folder):  # symbolic links to folders are not followed
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [Path(base, n) for n in sorted(names)
                      if not n.startswith(".") and n.lower().endswith(IMAGE_SUFFIXES)]
        if not found:
            raise ProcrustesError(f"{where}: class folder {shown(folder.name)} holds no PNG or JPEG images")
        files.append(found)
    total = sum(len(f) for f in files)
    if total > MAX_IMAGES:
        raise ProcrustesError(f"{where}: {total:,} images, at most {MAX_IMAGES:,}")
    return [f.name for f in folders], files


def _open(path: Path, data: bytes | None = None):
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data) if data is not None else path)
    if image.width * image.height > MAX_PIXELS:
        raise ValueError(f"{image.width}×{image.height} pixels, at most {MAX_PIXELS:,}")
    return image


def _bad(where: str, root: Path, path: Path, err: Exception) -> ProcrustesError:
    reason = shown(str(err) or type(err).__name__, 80, quote=False)
    return ProcrustesError(f"{where}: image {shown_path(path.relative_to(root))} is corrupt, truncated or not an "
                           f"image ({reason})")


def read_image_folder(root: Path, where: str) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Images (n, channels, height, width) in [0, 1], their class names as labels, the class names, and
    the SHA-256 of the folder's images (their paths and bytes)."""
    from PIL import Image

    names, files = image_files(root, where)
    sizes: Counter = Counter()
    colour = False
    for path in (p for group in files for p in group):
        try:
            with _open(path) as image:
                sizes[image.size] += 1
                colour = colour or image.mode not in GREY_MODES
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise _bad(where, root, path, err) from None
    width, height = sizes.most_common(1)[0][0]
    scale = min(1.0, MAX_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digest = hashlib.sha256()
    arrays, labels = [], []
    for name, group in zip(names, files):
        for path in group:
            try:
                data = path.read_bytes()
                with _open(path, data) as image:
                    image.load()
                    picture = image.convert("RGB" if colour else "L")
                    if picture.size != size:
                        picture = picture.resize(size, Image.BILINEAR)
                    arrays.append(np.asarray(picture, dtype=np.uint8))
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
                    Image.DecompressionBombWarning) as err:
                raise _bad(where, root, path, err) from None
            digest.update(str(path.relative_to(root).as_posix()).encode() + b"\0" + data)
            labels.append(name)
    x = np.stack(arrays).astype(np.float32) / 255.0
    x = x.transpose(0, 3, 1, 2) if colour else x[:, None]
    return x, np.asarray(labels), names, digest.hexdigest()
