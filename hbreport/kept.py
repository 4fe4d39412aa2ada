"""Parsed text kept between runs: a file every command parses (fields.yaml, the registry's 31,000
units) is parsed once per text and kept as JSON under the text's sha256 (and the package's version),
in the user's private cache folder that Jinja keeps its compiled templates in. Reading the JSON back
costs a fraction of parsing and checking the text again; what JSON would not give back exactly is not
kept, and a copy that cannot be read or used is parsed again. A cache that cannot be written is
skipped, never an error."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import jinja2

from hbreport import __version__

T = TypeVar("T")


@cache
def cache_dir() -> str | None:
    """Jinja's per-user cache folder (created by Jinja, only this user can write it), or None."""
    try:
        return jinja2.FileSystemBytecodeCache().directory
    except (OSError, RuntimeError):
        return None


def _same(value: T) -> T:
    return value


def kept(
    kind: str,
    text: str,
    parse: Callable[[str], T],
    *,
    plain: Callable[[T], Any] = _same,
    build: Callable[[Any], T] = _same,
) -> T:
    """``parse(text)``, or what it gave for the same text before: ``plain`` turns the result into JSON
    data, ``build`` turns that back into the result."""
    folder = cache_dir()
    if folder is None:
        return parse(text)
    digest = hashlib.sha256(f"{__version__}\0{kind}\0{text}".encode()).hexdigest()
    stored = Path(folder) / f"hbreport-{kind}-{digest}.json"
    try:
        return build(json.loads(stored.read_bytes()))
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        pass
    result = parse(text)
    try:
        data = plain(result)
        blob = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        if json.loads(blob) == data:  # string keys and plain values only: the copy is the same data
            fd, tmp = tempfile.mkstemp(prefix=f".hbreport-{kind}-", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(blob)
            os.replace(tmp, stored)
    except (TypeError, ValueError, OSError):
        pass
    return result
