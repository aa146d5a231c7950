"""write_atomically: all or nothing, the usual permissions, no temporary file left behind.

The writers that use it (`render`, `to_html`, `Module.save`, the CLI's ``--plot``) each keep a test
of their own file; here the helper itself is held to its promise, failures included.
"""

from __future__ import annotations

import os
import stat

import pytest

from microgradx._files import write_atomically


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
