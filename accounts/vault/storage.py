"""Where encrypted sessions live: Django's storage API, file system by default.

One file per account, written atomically (temp file, fsync, rename), mode 0600
in a 0700 directory. Another Storage backend can take over through STORAGES["sessions"].
"""

from __future__ import annotations

import ctypes
import logging
import os
import stat
import tempfile
from pathlib import Path

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, storages

logger = logging.getLogger(__name__)


class SessionFileStorage(FileSystemStorage):
    def __init__(self, location: str | os.PathLike | None = None, **kwargs: object) -> None:
        super().__init__(location=location, file_permissions_mode=0o600, directory_permissions_mode=0o700, **kwargs)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name  # each account owns its name; saving again replaces the file atomically

    def _save(self, name: str, content: File) -> str:
        directory = Path(self.path(name)).parent
        self.ensure_private_directory(directory)
        fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".tmp-")  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in content.chunks():
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_path, self.path(name))
        except BaseException:
            Path(temp_path).unlink(missing_ok=True)
            raise
        return name

    def save_many(self, entries: list[tuple[str, bytes]], written: list[str]) -> None:
        """Many files at once (an import's chunk), each as durable as `save` makes one: every temp file is written,
        then one sync of the file system flushes them all (rather than an fsync each), then each is renamed into
        place and named in ``written``. A temp file left by a failure is removed."""
        self.ensure_private_directory()
        temps: list[tuple[str, str]] = []
        renamed = 0
        try:
            for name, blob in entries:
                fd, temp_path = tempfile.mkstemp(dir=self.location, prefix=".tmp-")
                temps.append((name, temp_path))
                with os.fdopen(fd, "wb") as handle:
                    handle.write(blob)
                    if _syncfs is None:
                        handle.flush()
                        os.fsync(handle.fileno())
            if _syncfs is not None:
                _file_system_sync(self.location)
            for name, temp_path in temps:
                os.replace(temp_path, self.path(name))
                written.append(name)
                renamed += 1
        finally:
            for _name, temp_path in temps[renamed:]:
                Path(temp_path).unlink(missing_ok=True)

    def sync_directory(self) -> None:
        """Make completed renames durable; callers batch this rather than paying it per file."""
        self.ensure_private_directory()
        fd = os.open(self.location, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_many(self, names: list[str]) -> dict[str, bytes]:
        """Many files for a check batch: each opened once, relative to the vault directory opened once (no path
        resolution per name), its mode checked on the open file (a loosened one is tightened, with a warning, by the
        same `_tighten`) and read whole. A name that is not a plain file name of the vault, or a file that cannot be
        opened, is left out, so the caller's own read of it (through `path`'s checks) reports why."""
        found: dict[str, bytes] = {}
        try:
            directory = os.open(self.location, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return found
        try:
            for name in names:
                if "/" in name or name.startswith(".") or "\0" in name:
                    continue
                try:
                    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=directory)
                except OSError:
                    continue
                try:
                    size = _tighten(os.path.join(self.location, name), 0o600, fd=fd).st_size
                    found[name] = _read_whole(fd, size)
                except OSError:
                    continue
                finally:
                    os.close(fd)
        finally:
            os.close(directory)
        return found

    def entries(self) -> list[tuple[str, float]]:
        """Every file of the vault with its modification time (seconds since the epoch), temp files included: one
        directory scan each for the sessions and the staged uploads, a stat per file (no per-name path checks)."""
        found: list[tuple[str, float]] = []
        for prefix in ("", "imports/"):
            try:
                with os.scandir(Path(self.location) / prefix) as scan:
                    found += [(prefix + e.name, e.stat().st_mtime) for e in scan if e.is_file(follow_symlinks=False)]
            except FileNotFoundError:
                continue
        return found

    def ensure_private_directory(self, directory: Path | None = None) -> None:
        directory = directory or Path(self.location)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _tighten(directory, 0o700)

    def tighten(self, name: str) -> None:
        _tighten(Path(self.path(name)), 0o600)


_syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)  # Linux: flush one file system


def _file_system_sync(directory: str | os.PathLike) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(directory))
    finally:
        os.close(fd)


def _tighten(path: Path | str, wanted: int, *, fd: int | None = None) -> os.stat_result:
    """Take away any mode bit beyond ``wanted``, with a warning; on ``fd`` (the file already open) if given. Returns
    the file's status as found."""
    target = path if fd is None else fd
    status = os.stat(target)
    mode = stat.S_IMODE(status.st_mode)
    if mode & ~wanted:
        os.chmod(target, wanted)
        logger.warning("Tightened %s from mode %o to %o", path, mode, wanted)
    return status


def _read_whole(fd: int, size: int) -> bytes:
    """An open vault file's bytes: ``size`` from its status. A vault file is replaced by a rename, never written in
    place, so one read of more than its size returns it whole; should it have grown, the rest is read to the end."""
    chunks = [os.read(fd, size + 1)]
    if len(chunks[0]) > size:
        while chunks[-1]:
            chunks.append(os.read(fd, 65536))
    return b"".join(chunks)


def vault_save_many(storage: Storage, entries: list[tuple[str, bytes]], written: list[str]) -> None:
    """Store sealed entries, naming each in ``written`` as it lands (so a caller can take them back): at once where
    the store can (one insert in the database store, one file-system sync in the file store), else one by one."""
    if hasattr(storage, "save_many"):
        storage.save_many(entries, written)
        return
    for name, blob in entries:
        storage.save(name, ContentFile(blob))
        written.append(name)


def vault_read_many(storage: Storage, names: list[str]) -> dict[str, bytes]:
    """Sealed entries by name, read at once where the store can (one query in the database store, one open and
    read per file in the file store); an entry left out is read, and its error reported, when it is needed."""
    return storage.read_many(names) if hasattr(storage, "read_many") else {}


def session_storage() -> Storage:
    return storages["sessions"]
