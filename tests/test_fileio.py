"""microgradnn.fileio.write_atomic, the one way the package writes a file.

Failures are simulated at each step of the write (the data, the fsync, the rename, an
interrupt) and required to leave the old file byte for byte and no temporary file.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from microgradnn import fileio
from microgradnn.fileio import write_atomic


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_bytes_and_text_and_returns_the_target(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    assert write_atomic(path, b"\x00\xffbytes") == path
    assert path.read_bytes() == b"\x00\xffbytes"
    assert write_atomic(str(path), "tëxt") == path
    assert path.read_bytes() == "tëxt".encode()
    assert listing(tmp_path) == ["a.bin"]


def _failing(step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make one step of the write fail as a full disk would (ENOSPC), or be interrupted."""

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    if step == "fsync":
        monkeypatch.setattr(os, "fsync", no_space)
    elif step == "rename":
        monkeypatch.setattr(os, "replace", no_space)
    elif step == "chmod":
        monkeypatch.setattr(os, "chmod", no_space)
    elif step == "interrupt":
        monkeypatch.setattr(os, "fsync", interrupted)


@pytest.mark.parametrize("step", ["fsync", "rename", "chmod", "interrupt"])
def test_a_failure_at_any_step_keeps_the_old_file_and_leaves_no_temporary_file(
    step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "picture.svg"
    path.write_bytes(b"old contents")
    _failing(step, monkeypatch)
    if step == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            write_atomic(path, b"new contents" * 1000)
    else:
        with pytest.raises(OSError) as caught:
            write_atomic(path, b"new contents" * 1000, name="save(path)")
        # The same class and errno as the failure, and a message naming the argument and file.
        assert caught.value.errno == errno.ENOSPC
        assert str(caught.value.strerror).startswith(f"save(path): cannot write {path}: No space left")
        assert "the old file, if any, is unchanged" in str(caught.value)
    monkeypatch.undo()
    assert path.read_bytes() == b"old contents"
    assert listing(tmp_path) == ["picture.svg"]


def test_a_real_short_write_keeps_the_old_file(tmp_path: Path) -> None:
    # A write that the kernel cuts off (the file-size limit, EFBIG), in a process of its own.
    path = tmp_path / "big.bin"
    path.write_bytes(b"old")
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "from microgradnn.fileio import write_atomic\n"
        "try:\n"
        "    write_atomic(sys.argv[1], b'x' * 5000)\n"
        "except OSError as e:\n"
        "    print(type(e).__name__, e.errno)\n"
    )
    command = [sys.executable, "-c", code, str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["OSError", str(errno.EFBIG)], result.stderr
    assert path.read_bytes() == b"old" and listing(tmp_path) == ["big.bin"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604, 0o755])
def test_an_existing_file_keeps_its_permission_bits(mode: int, tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("old")
    os.chmod(path, mode)
    write_atomic(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == mode and path.read_text() == "new"


def test_a_new_file_gets_what_open_would_give_it(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.txt", "x")
        with open(tmp_path / "by_open.txt", "w") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == stat.S_IMODE(
        (tmp_path / "by_open.txt").stat().st_mode
    ) == 0o640


def test_a_symbolic_link_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "f.svg"
    target.write_text("old")
    link = tmp_path / "link.svg"
    link.symlink_to(target)
    assert write_atomic(link, "new") == target
    assert link.is_symlink() and target.read_text() == "new"
    assert listing(tmp_path / "real") == ["f.svg"]


def test_the_folder_is_synced_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    write_atomic(tmp_path / "f", b"data")
    assert synced == ["file", "folder"]


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        (None, TypeError, "save(path) must be a file name (str or pathlib.Path), got NoneType: None"),
        (b"f.svg", TypeError, "got bytes: b'f.svg'; decode it first with os.fsdecode(path)"),
        ("a\0b.svg", ValueError, "save(path) contains a NUL character: 'a\\x00b.svg'"),
        ("", FileNotFoundError, "save(path) is empty; give a file name"),
        ("{folder}", IsADirectoryError, "is a folder; give the name of a file"),
        ("/dev/null", OSError, "/dev/null is a character device, not a regular file"),
    ],
)
def test_bad_paths_are_refused_before_anything_is_written(
    path: object, error: type[Exception], message: str, tmp_path: Path
) -> None:
    if path == "{folder}":
        path = tmp_path
    with pytest.raises(error) as caught:
        write_atomic(path, b"data", name="save(path)")  # type: ignore[arg-type]
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert listing(tmp_path) == []


def test_a_path_with_a_newline_gives_a_one_line_message(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        write_atomic(tmp_path / "no\nfolder" / "f.svg", "x")
    assert "\n" not in str(caught.value) and "no\\nfolder" in str(caught.value)


def test_every_file_the_package_writes_goes_through_write_atomic() -> None:
    # A file written any other way would be left truncated by a failure part-way.
    package = Path(fileio.__file__).parent
    writers = ("write_text(", "write_bytes(", "savefig(", 'open(path, "w', "os.replace(", "mkstemp(")
    found = []
    for source in package.rglob("*.py"):
        if source.name == "fileio.py":
            continue
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if any(w in code for w in writers) and "buffer" not in code and '"""' not in line:
                found.append(f"{source.relative_to(package)}:{number}: {line.strip()}")
    assert found == []
