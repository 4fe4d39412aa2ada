"""File names as they can be shown and stored.

A zip made on a Chinese Windows stores its file names in GBK; unpacked on Linux or macOS they come
out as bytes that are not UTF-8, which Python keeps as lone surrogates (``\\udcc3``). Such a name opens
the file as ever, but cannot be printed, written into a workbook or a report, or encoded as JSON.
:func:`shown` gives the text to show for it: the bytes read as GB18030 (which GBK is part of), or as
replacement characters where even that fails."""

from __future__ import annotations

import re

# undecoded bytes, with the characters next to them that two of those bytes made when they happened to
# be valid UTF-8 as well (U+0080–U+07FF: a GBK pair such as C3 B7, 梅, reads as ÷)
_ESCAPED = re.compile("[\u0080-\u07ff\udc80-\udcff]*[\udc80-\udcff][\u0080-\u07ff\udc80-\udcff]*")
_ANY_ESCAPED = re.compile("[\udc80-\udcff]")


def _decoded(match: re.Match[str]) -> str:
    return match.group().encode("utf-8", "surrogateescape").decode("gb18030", "replace")


def shown(text: str) -> str:
    """``text`` with every run of undecoded file-name bytes decoded as GB18030 (text without any is
    returned as it is)."""
    if text.isascii() or _ANY_ESCAPED.search(text) is None:
        return text
    return _ESCAPED.sub(_decoded, text)
