"""Where mail comes from on disk: .eml files, folders of them, Maildirs (cur/ and new/)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path


class SourceError(ValueError):
    """A path that holds no mail, said in one line."""


def iter_paths(paths: Iterable[str]) -> Iterator[Path]:
    """Every message file under the paths, folders in name order (Maildir names start with the time)."""
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from _folder(path)
        else:
            raise SourceError(f"找不到 {raw}")


def _folder(folder: Path) -> Iterator[Path]:
    if (folder / "cur").is_dir() or (folder / "new").is_dir():
        for sub in ("cur", "new"):
            if (folder / sub).is_dir():
                yield from sorted(p for p in (folder / sub).iterdir() if p.is_file())
        return
    yield from sorted(p for p in folder.rglob("*") if p.is_file() and _looks_like_mail(p))


def _looks_like_mail(path: Path) -> bool:
    return path.suffix.lower() in (".eml", ".msg", "") and not path.name.startswith(".")
