"""The folder on disk and as a zip archive: both are {relative path: text} to the rest of the
package. Only the layout's folders are read or written; anything else in the folder (a README,
CI config, .git) is left alone."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from catalog.folder.layout import MANAGED_FOLDERS
from core.errors import field_error

#: Suffixes the layout writes: an export removes files with these that the catalog no longer holds.
_WRITTEN_SUFFIXES = (".md", ".json", ".avsc", ".proto", ".yaml")
MAX_ARCHIVE_BYTES = 50 << 20


def folder_read(directory: Path) -> dict[str, str]:
    files = {}
    for top in MANAGED_FOLDERS:
        root = directory / top
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                files[path.relative_to(directory).as_posix()] = path.read_text(encoding="utf-8")
    return files


def folder_write(directory: Path, files: dict[str, str]) -> tuple[int, int]:
    """Write `files` under `directory`; remove the layout's files that are not among them (an
    entry deleted from the catalog). Returns (written, removed)."""
    removed = 0
    for relative in folder_read(directory) if directory.is_dir() else {}:
        if relative not in files and relative.endswith(_WRITTEN_SUFFIXES):
            (directory / relative).unlink()
            removed += 1
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for top in MANAGED_FOLDERS:  # folders an entry left empty
        root = directory / top
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True) if root.is_dir() else []:
            if not any(folder.iterdir()):
                folder.rmdir()
    return len(files), removed


def archive_write(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in sorted(files):
            archive.writestr(relative, files[relative])
    return buffer.getvalue()


def archive_read(data: bytes) -> dict[str, str]:
    """The layout's files in a zip; one top folder wrapping them all (a zipped checkout) is
    stripped. 422 for what is not a zip, is too large or is not UTF-8."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise field_error("archive", "is not a zip archive") from exc
    entries = [info for info in archive.infolist() if not info.is_dir()]
    if sum(info.file_size for info in entries) > MAX_ARCHIVE_BYTES:
        raise field_error("archive", f"holds more than {MAX_ARCHIVE_BYTES >> 20} MB")
    names = [info.filename for info in entries]
    tops = {name.split("/", 1)[0] for name in names}
    prefix = ""
    if len(tops) == 1 and not tops & set(MANAGED_FOLDERS) and all("/" in name for name in names):
        prefix = f"{tops.pop()}/"
    files = {}
    for info in entries:
        relative = info.filename[len(prefix) :] if info.filename.startswith(prefix) else info.filename
        if relative.split("/", 1)[0] not in MANAGED_FOLDERS or ".." in relative.split("/"):
            continue
        try:
            files[relative] = archive.read(info).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise field_error("archive", f"{info.filename} is not UTF-8 text") from exc
    return files
