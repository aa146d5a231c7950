"""write_atomically: all or nothing, the usual permissions, no temporary file left behind.

The writers that use it (`render`, `to_html`, `Module.save`, the CLI's ``--plot``) each keep a test
of their own file; here the helper itself is held to its promise, failures included.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import pytest

from microgradx._files import write_atomically

try:
    import fcntl
except ImportError:  # Windows: no POSIX locks, the stale-file tests skip
    fcntl = None


@pytest.fixture
def umask_027():
    """Run the test under umask 0o027 (not the usual 0o022), so permissions must follow the umask."""
    previous = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(previous)


def test_bytes_and_text_replace_the_old_file(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    write_atomically(path, b"\x00\x01new")
    assert path.read_bytes() == b"\x00\x01new"
    write_atomically(str(path), "ŷ − y\n")
    assert path.read_bytes() == "ŷ − y\n".encode()  # UTF-8, newline as given
    assert os.listdir(tmp_path) == ["out.bin"]


def test_a_new_file_gets_0o666_less_the_umask(tmp_path, umask_027):
    path = tmp_path / "new.txt"
    write_atomically(path, "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask_027 == 0o640


def test_a_replaced_file_keeps_its_permission_bits_not_the_umask(tmp_path, umask_027):
    # SPEC §7 (2026-12): saving keeps an existing file's permission bits (it used to give the umask's)
    path = tmp_path / "old.txt"
    path.write_text("old")
    path.chmod(0o604)
    write_atomically(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o604


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failing):
    path = tmp_path / "model.json"
    path.write_text("old")

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.json"]


def test_an_interrupt_during_the_write_also_removes_the_temporary(tmp_path, monkeypatch):
    path = tmp_path / "page.html"

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, "<html>")
    assert os.listdir(tmp_path) == []


def test_a_missing_folder_is_an_oserror_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "missing" / "f.txt", "x")
    assert os.listdir(tmp_path) == []


def killed_writer(path) -> list[str]:
    """Run write_atomically in another process that is killed (SIGKILL) inside fsync, as a kill -9
    during a save would; return the hidden temporary files it left beside `path`."""
    code = (
        "import os, signal, sys\n"
        "from microgradx._files import write_atomically\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "write_atomically(sys.argv[1], 'new')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, check=False)
    assert done.returncode == -signal.SIGKILL
    return sorted(n for n in os.listdir(path.parent) if n.startswith(f".{path.name}.partial-"))


@pytest.mark.skipif(fcntl is None, reason="POSIX locks and SIGKILL")
def test_a_temporary_file_left_by_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old")
    left = killed_writer(path)
    assert len(left) == 1 and path.read_text() == "old"  # the old file survived the kill
    os.utime(tmp_path / left[0], (0, 0))  # as a later run finds it
    write_atomically(path, "newer")
    assert path.read_text() == "newer" and os.listdir(tmp_path) == ["model.json"]


@pytest.mark.skipif(fcntl is None, reason="POSIX locks")
def test_a_live_writers_temporary_file_and_other_files_are_left_alone(tmp_path):
    path = tmp_path / "model.json"
    live = tmp_path / ".model.json.partial-0123456789ab~"  # another process is writing it now
    young = tmp_path / ".model.json.partial-ba9876543210~"  # just created, not locked yet
    others = [tmp_path / ".other.json.partial-0123456789ab~", tmp_path / ".model.json.partial-xyz~"]
    for f in (live, young, *others):
        f.write_text("")
    for f in (live, *others):
        os.utime(f, (0, 0))
    with open(live, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        write_atomically(path, "new")
        assert live.exists() and young.exists() and all(f.exists() for f in others)
