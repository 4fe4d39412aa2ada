"""Reading files on several processes (hbreport.consolidation.parallel): the results are those of reading them all
in one process, whether the others are forked or spawned (the Windows way), and spawned ones are
only started when there is enough work left for them."""

from __future__ import annotations

import os
import pickle
import shutil

import pytest
from slow_reads import MAIN, MARKS, read_after_a_helper

import hbreport.consolidation.parallel as dealing
from hbreport.consolidation.consolidate import _init_worker, _read_one, consolidate
from hbreport.registry import Registry

COUNTY, PERIOD = "420702", 2017  # 梁子湖区: 7 townships


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, county_inbox):
    folder = tmp_path_factory.mktemp("inbox")
    for path in county_inbox.iterdir():
        shutil.copy2(path, folder / path.name)
    (folder / "坏文件.xlsx").write_bytes(b"not a workbook")  # an unusable file comes back as its reason
    return folder


def _seen(r) -> tuple:
    """What a read says about its file, in a form that compares across processes."""
    rows = r.data.rows if r.data is not None else None
    return (r.path, r.sha256, r.error, r.hint, [(f.rule, f.cell, f.message) for f in r.findings], rows)


def _paths(inbox, times: int = 1) -> list[str]:
    return [str(p) for p in sorted(inbox.iterdir())] * times


@pytest.mark.slow
def test_spawned_readers_join_when_work_is_left_and_give_the_serial_result(
    inbox, sample, tmp_path, monkeypatch
):
    paths = _paths(inbox, 3)  # 24 reads of over 0.15 s: the first one makes spawning worth it
    serial = dealing.read_files(paths, _read_one, workers=1, setup=_init_worker, context=sample)
    assert serial.helpers == 0 and serial.read_elsewhere == 0
    monkeypatch.setenv(MAIN, str(os.getpid()))
    monkeypatch.setenv(MARKS, str(tmp_path))  # this process waits for a spawned reader's first file
    spread = dealing.read_files(
        paths, read_after_a_helper, workers=3, setup=_init_worker, context=sample, method="spawn"
    )
    assert spread.helpers == 2
    assert 0 < spread.read_elsewhere < len(paths)  # they read some, this process the others
    assert [_seen(r) for r in spread.results] == [_seen(r) for r in serial.results]
    assert spread.results[-1].error and "坏文件" in spread.results[-1].path


def test_a_small_job_is_read_here_without_waiting_for_spawned_readers(inbox, sample):
    paths = _paths(inbox)
    shown: list[tuple[int, int]] = []
    reading = dealing.read_files(
        paths,
        _read_one,
        workers=2,
        setup=_init_worker,
        context=sample,
        method="spawn",
        progress=lambda done, total: shown.append((done, total)),
        meanwhile=lambda: "built meanwhile",
    )
    assert reading.helpers == 0 and reading.meanwhile == "built meanwhile"
    assert [r.path for r in reading.results] == paths
    assert shown[0] == (0, len(paths)) and shown[-1] == (len(paths), len(paths))


def test_when_the_system_refuses_another_process_this_one_reads_alone(inbox, sample, monkeypatch):
    import errno
    import multiprocessing.context

    def refused(self):
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", refused)
    paths = _paths(inbox)
    alone = dealing.read_files(paths, _read_one, workers=4, setup=_init_worker, context=sample, method="fork")
    serial = dealing.read_files(paths, _read_one, workers=1, setup=_init_worker, context=sample)
    assert alone.helpers == 0 and [_seen(r) for r in alone.results] == [_seen(r) for r in serial.results]


def test_files_dealt_heaviest_first_from_both_ends_come_back_in_the_order_given(inbox, sample):
    """With weights (file sizes), the heaviest files are taken first from both ends and the processes
    meet on the lightest; the results are still one per path in the order of the paths."""
    assert dealing.dealing_order([1, 5, 3, 9, 2, 8], 2) == [3, 1, 4, 0, 2, 5]  # 9 5 2 … 1 3 8
    assert dealing.dealing_order([1, 5, 3, 9, 2, 8], 3) == [3, 5, 2, 4, 0, 1]  # two take from the front
    paths = _paths(inbox)
    sizes = [os.path.getsize(p) for p in paths]
    serial = dealing.read_files(paths, _read_one, workers=1, setup=_init_worker, context=sample)
    dealt = dealing.read_files(
        paths, _read_one, workers=2, setup=_init_worker, context=sample, method="fork", weights=sizes
    )
    assert dealt.helpers == 1
    assert [_seen(r) for r in dealt.results] == [_seen(r) for r in serial.results]


def test_consolidation_the_windows_way_writes_the_same_workbook(inbox, sample, tmp_path, monkeypatch):
    """Spawned readers that start and find every file taken are stopped; the output is unchanged."""
    registry, catalog, baseline = sample
    inputs = tmp_path / "in"
    shutil.copytree(inbox, inputs)
    kw = {"registry": registry, "catalog": catalog, "baseline": baseline, "force": True}
    consolidate(inputs, COUNTY, PERIOD, tmp_path / "serial.xlsx", workers=1, **kw)
    monkeypatch.setattr(dealing, "START_METHOD", "spawn")
    monkeypatch.setattr(dealing, "SPAWN_SECONDS", 0.0)  # start them after the first file
    consolidate(inputs, COUNTY, PERIOD, tmp_path / "spawned.xlsx", workers=2, **kw)
    assert (tmp_path / "spawned.xlsx").read_bytes() == (tmp_path / "serial.xlsx").read_bytes()


def test_the_loaded_registry_is_sent_as_where_to_load_it(sample):
    registry, catalog, baseline = sample
    for loaded in sample:
        sent = dealing.portable(loaded)
        assert len(pickle.dumps(sent)) < 1_000 < len(pickle.dumps(loaded))
        assert dealing.restore(pickle.loads(pickle.dumps(sent))) is loaded  # this process: its cache
    made_here = Registry({code: registry.get(code) for code in (COUNTY + "000000",)}, source=None)
    assert dealing.portable(made_here) is made_here  # not what a loader gives: sent as it is


def _crashed(path: str, exit_code):
    return ("crashed", path, exit_code)


@pytest.mark.parametrize("workers", [2, 3])
def test_a_reader_that_aborts_costs_only_its_file(inbox, sample, tmp_path, monkeypatch, workers):
    """Given ``crashed``, a reader killed in native code takes only the file it was on: the files its
    process had taken are read again each in a fresh process (never here, where a second abort would
    end the run), the one that aborts again is ``crashed(path, -SIGABRT)``."""
    import signal

    from slow_reads import MAIN, MARKS, read_or_abort

    paths = _paths(inbox)
    crash = tmp_path / "崩溃.xlsx"
    shutil.copy(paths[0], crash)
    paths = [paths[0], str(crash), *paths[1:]]  # taken from the front by the other processes
    serial = dealing.read_files(paths, _read_one, workers=1, setup=_init_worker, context=sample)
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv(MAIN, str(os.getpid()))
    monkeypatch.setenv(MARKS, str(marks))
    reading = dealing.read_files(
        paths, read_or_abort, workers=workers, setup=_init_worker, context=sample, crashed=_crashed
    )
    assert reading.results[1] == ("crashed", str(crash), -signal.SIGABRT)
    others = [r for i, r in enumerate(reading.results) if i != 1]
    assert [_seen(r) for r in others] == [_seen(r) for i, r in enumerate(serial.results) if i != 1]
    assert len(list(marks.glob("abort-*"))) == 2  # in the reader that took it, then in its own process
