"""The one way the package writes a file: :func:`write_atomic`.

Every file microgradnn writes (model files, drawings, explorer pages, plots, animations, the
demo's folder) goes through :func:`write_atomic`, so that a failure part-way (a full disk, a
file-size limit, Ctrl-C) never destroys the file that was there before, nor leaves a truncated
one or a stray temporary file:

1. the bytes go to a new temporary file in the same folder as the target (the same file
   system, so that the rename below is atomic), which is flushed and ``fsync``-ed;
2. the temporary file gets the permission bits the target has (or, for a new file, those
   ``open()`` would give it) and is renamed over the target with ``os.replace``: a reader sees
   the old file or the new one, never half of one;
3. the folder is ``fsync``-ed, so that the rename itself survives a crash (where the platform
   allows opening a folder; elsewhere this step is skipped).

A symbolic link is written through: its final target is replaced and the link stays. A target
that exists but is not a regular file (a folder, a FIFO, a device, a socket) is refused, and so
is a file the user may not write (a rename would replace even a read-only file). Errors are the
``OSError`` subclasses Python raises for the same mistakes, with messages naming the argument.

Standard library only.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from microgradnn.checks import check_path, printable_path

__all__ = ["file_kind", "write_atomic"]


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for messages: "a folder", "a FIFO (named pipe)"..."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _target_and_mode(name: str, given: str, shown: str) -> tuple[Path, int]:
    """Where to write (through symbolic links to their final target) and the permission bits
    the written file gets; ``shown`` is ``given`` as messages show it."""
    target = Path(os.path.realpath(given))
    try:
        info = os.stat(target)
    except FileNotFoundError:
        # A new file gets what open() would give it: 0666 less the umask, which can only be
        # read by setting it (and putting it back at once).
        umask = os.umask(0)
        os.umask(umask)
        return target, 0o666 & ~umask
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(
            errno.EISDIR, f"{name}: {shown} is a folder; give the name of a file (in it or elsewhere)"
        )
    if not stat.S_ISREG(info.st_mode):
        # No OSError subclass of Python's own means "not a regular file"; EINVAL is what
        # rename-based writers report for it.
        raise OSError(
            errno.EINVAL,
            f"{name}: {shown} is {file_kind(info.st_mode)}, not a regular file; "
            "files are saved only as regular files, which replace the old one",
        )
    # The rename would replace even a read-only file; honour the protection open() would.
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, f"{name}: {shown} is read-only; not replacing it")
    return target, stat.S_IMODE(info.st_mode)


def _fsync_folder(folder: Path) -> None:
    """Make the rename in ``folder`` durable; skipped where folders cannot be opened (Windows)
    or synced (some network file systems): the file itself is complete either way."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    name: str = "save(path)",
    encoding: str = "utf-8",
) -> Path:
    """Write ``data`` (bytes, or text encoded with ``encoding``) to ``path`` atomically.

    ``name`` is how errors refer to the path argument (``"Module.save(path)"``). Bad paths are
    refused before anything is touched (see :func:`microgradnn.checks.check_path`). If writing
    fails part-way, the temporary file is removed, the old file at ``path`` is unchanged, and
    the ``OSError`` is raised again with the same class and errno and a message naming ``path``.
    Returns the path that was written: the link's target for a symbolic link.
    """
    given = check_path(name, path)
    shown = printable_path(given)
    if isinstance(data, str):
        data = data.encode(encoding)
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"write_atomic(data) must be bytes or str, got {type(data).__name__}")
    target, mode = _target_and_mode(name, given, shown)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:  # name the user's folder, not the temporary file that was never made
        folder = printable_path(str(target.parent))
        problem = f"{name}: cannot write {shown}: {e.strerror} (in the folder {folder})"
        raise type(e)(e.errno, problem) from None
    try:
        try:
            with open(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp_name, mode)  # mkstemp made it private (0600); os.fchmod is not on Windows
            os.replace(tmp_name, target)
        except OSError as e:
            problem = f"{name}: cannot write {shown}: {e.strerror or e}; the old file, if any, is unchanged"
            raise type(e)(e.errno, problem) from None
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file behind
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(target.parent)
    return target
