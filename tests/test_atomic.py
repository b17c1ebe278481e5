"""Atomic writes: the whole file or the old one, with the permissions of a plain open()."""

import os
import stat

import pytest

from gina3d.atomic import atomic_write, atomic_write_bytes, atomic_write_json


def test_written_files_are_readable_like_plain_files(tmp_path):
    plain = tmp_path / "plain.bin"  # under the process's umask, as the atomic writes are
    plain.write_bytes(b"x")
    atomic_write_bytes(tmp_path / "a.bin", b"abc")
    atomic_write_json(tmp_path / "sub" / "b.json", {"k": 1})
    for name in ("a.bin", "sub/b.json"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == stat.S_IMODE(plain.stat().st_mode)
        assert mode & 0o044 or os.umask(os.umask(0)) & 0o044  # group/other read unless masked
    assert (tmp_path / "a.bin").read_bytes() == b"abc"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")

    def fail(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
