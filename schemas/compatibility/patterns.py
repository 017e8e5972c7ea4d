"""Regular expressions from schemas, run in linear time.

`patternProperties` and `pattern` come from whoever may call the registry (a read-only key is
enough for a compatibility check), so they are never run by a backtracking engine: Python's `re`
took 20 s on `^(.?)(.?)...(.?)Z` and 7 s on `^(a+)+$`, holding the interpreter lock. RE2 matches
in time linear in the name, and refuses what it cannot run that way (backreferences,
lookaround), which registration already refuses (jsonschema-rs compiles patterns with the
linear `regex` engine, `schemas.documents`).
"""

from __future__ import annotations

import functools
from typing import Any

import re2

#: RE2's memory budget per compiled pattern; a pattern that needs more does not compile.
MAX_PATTERN_MEMORY = 8 << 20
#: Patterns longer than this are not compiled at all (and so match nothing).
MAX_PATTERN_LENGTH = 4096

_OPTIONS = re2.Options()
_OPTIONS.max_mem = MAX_PATTERN_MEMORY
_OPTIONS.log_errors = False
_OPTIONS.never_capture = True


@functools.lru_cache(maxsize=1024)
def linear_regex(pattern: str) -> Any | None:
    """The compiled pattern, or None for one RE2 cannot run in linear time (or too long).
    The cache holds at most 1,024 patterns of at most MAX_PATTERN_LENGTH characters."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return None
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error:
        return None


#: Pattern syntax that ties a match to a place in the string; without it, a pattern that matches
#: the empty string matches (by search) at the start of every string.
_PLACE_BOUND = ("^", "$", "\\b", "\\B", "\\A", "\\z", "\\Z")


def accepts_every_string(pattern: str) -> bool:
    """Whether `pattern` (searched, as JSON Schema does) matches every string: it matches the
    empty string and nothing in it anchors the match (`a*`, `.*`, `x?`, ``""``). Conservative: a
    pattern with any anchor or word boundary, even one inside a class, is not claimed."""
    if any(marker in pattern for marker in _PLACE_BOUND):
        return False
    regex = linear_regex(pattern)
    return regex is not None and regex.search("") is not None
