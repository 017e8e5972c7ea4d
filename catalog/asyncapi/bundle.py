"""Multi-file AsyncAPI documents: a zip, or several files in one upload, with relative `$ref`s
between them. The file holding `asyncapi:` is the root; every relative reference (`schemas.yaml`,
`./messages/user.yaml#/UserSignedUp`, and `#/...` pointers inside those files) is replaced by what
it names, so the rest of the import reads one document whose only references are the root's own
`#/...` pointers. Remote references (`https://...`) are never fetched: they stay as they are and
are reported, and so does a relative one naming a file that is not in the upload."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ValidationFailed

REMOTE_REF = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# A zip bomb or a folder of unrelated files should not be read whole.
MAX_BUNDLE_FILES = 200
MAX_BUNDLE_BYTES = 20 * 1024 * 1024
_MAX_REF_DEPTH = 64


@dataclass
class Bundle:
    """The root's path, the document with relative references replaced, and what was not
    followed ({"path", "ref", "reason"}). `origins` maps an object copied in for a reference (by
    id) to that reference, so an unnamed message can still be named after it."""

    root: str
    document: dict[str, Any]
    unresolved: list[dict[str, str]] = field(default_factory=list)
    origins: dict[int, str] = field(default_factory=dict)


def unzip(data: bytes) -> dict[str, bytes]:
    """The files of a zip, by path inside it (folders and macOS metadata left out)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise _invalid(f"Not a zip archive: {exc}") from None
    members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
    if len(members) > MAX_BUNDLE_FILES or sum(m.file_size for m in members) > MAX_BUNDLE_BYTES:
        raise _invalid(f"A bundle holds at most {MAX_BUNDLE_FILES} files and {MAX_BUNDLE_BYTES} bytes.")
    return {posixpath.normpath(m.filename): archive.read(m) for m in members}


def upload_files(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The files of an upload by path: one zip is unpacked, anything else is taken as sent."""
    if len(files) == 1 and next(iter(files)).lower().endswith(".zip"):
        return unzip(next(iter(files.values())))
    return dict(files)


def bundle_load(files: Mapping[str, bytes | str]) -> Bundle:
    """Parse every file (JSON or YAML) and join them at the root."""
    from catalog.asyncapi.importer import parse_value

    parsed = {posixpath.normpath(name.lstrip("/")): parse_value(text, name) for name, text in files.items()}
    roots = [name for name, value in parsed.items() if isinstance(value, dict) and "asyncapi" in value]
    if len(roots) != 1:
        found = ", ".join(sorted(roots)) or "none"
        raise _invalid(f"A bundle has exactly one file with an `asyncapi` field (found: {found}).")
    root = roots[0]
    bundle = Bundle(root=root, document={})
    bundle.document = _joined(parsed, bundle, parsed[root], root, "", ())
    return bundle


def _joined(files: dict[str, Any], bundle: Bundle, node: Any, base: str, where: str, seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_joined(files, bundle, value, base, f"{where}/{index}", seen) for index, value in enumerate(node)]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not (base == bundle.root and ref.startswith("#")):
        if REMOTE_REF.match(ref):
            bundle.unresolved.append({"path": where, "ref": ref, "reason": "remote reference, not followed"})
            return dict(node)
        file_part, _, fragment = ref.partition("#")
        target_file = posixpath.normpath(posixpath.join(posixpath.dirname(base), file_part)) if file_part else base
        key = f"{target_file}#{fragment}"
        if key in seen or len(seen) > _MAX_REF_DEPTH:
            bundle.unresolved.append({"path": where, "ref": ref, "reason": "circular reference between files"})
            return dict(node)
        if target_file not in files:
            bundle.unresolved.append({"path": where, "ref": ref, "reason": f"{target_file} is not in the upload"})
            return dict(node)
        target = _pointer_get(files[target_file], fragment)
        if target is _MISSING:
            bundle.unresolved.append(
                {"path": where, "ref": ref, "reason": f"#{fragment} names nothing in {target_file}"}
            )
            return dict(node)
        joined = _joined(files, bundle, target, target_file, where, (*seen, key))
        if isinstance(joined, dict):
            bundle.origins[id(joined)] = ref
        return joined
    return {name: _joined(files, bundle, value, base, f"{where}/{name}", seen) for name, value in node.items()}


_MISSING = object()


def _pointer_get(document: Any, fragment: str) -> Any:
    node = document
    for part in [p for p in fragment.split("/") if p] if fragment else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_asyncapi", details={"errors": [{"path": "", "message": message}]})
