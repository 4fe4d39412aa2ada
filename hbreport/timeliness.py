"""Timeliness of the children's returns: when each arrived, and 按时 / 逾期 / 未报 against the deadline.

The deadline is ``--deadline`` or the catalog's ``reporting_due`` (the day of the year after the period).
A return's received time is when the store first saw the file's sha256 (an earlier consolidation
kept it), else the file's modification time — the earlier of the two when both are known; times are written in Beijing time (UTC+8), and a return is 按时 when it arrived on or before the
deadline day.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

ON_TIME, LATE, NOT_REPORTED = "按时", "逾期", "未报"
FROM_STORE, FROM_MTIME = "store", "mtime"
SOURCE_ZH = {FROM_STORE: "数据库首次收到该文件（按 SHA-256）的时间", FROM_MTIME: "文件的修改时间"}
BEIJING = dt.timezone(dt.timedelta(hours=8))


def received_time(
    path: str | os.PathLike, sha256: str, first_seen: Mapping[str, str] | None = None
) -> tuple[dt.datetime | None, str]:
    """When a file was received and how that is known: the earlier of the store's first sight of its
    sha256 (an ISO time in ``first_seen``, from an earlier consolidation) and its modification time —
    so consolidating the same files again gives the same times; (None, "") when neither is known."""
    known: list[tuple[dt.datetime, str]] = []
    seen = (first_seen or {}).get(sha256) if sha256 else None
    if seen:
        when = dt.datetime.fromisoformat(seen)
        known.append(((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(BEIJING), FROM_STORE))
    try:
        known.append((dt.datetime.fromtimestamp(os.stat(path).st_mtime, BEIJING), FROM_MTIME))
    except OSError:
        pass
    return min(known, key=lambda k: k[0]) if known else (None, "")


def judge(received: dt.datetime | None, deadline: dt.date) -> str:
    """按时 when received on or before the deadline day (Beijing time), 逾期 after, 未报 when not received."""
    if received is None:
        return NOT_REPORTED
    return ON_TIME if received.astimezone(BEIJING).date() <= deadline else LATE


def shown(received: dt.datetime | None) -> str:
    """A received time as the 下级明细 sheet shows it: 2018-01-09 14:30 (Beijing time)."""
    return received.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if received else ""
