"""Where encrypted sessions live: Django's storage API, file system by default.

One file per account, written atomically (temp file, fsync, rename), mode 0600
in a 0700 directory. Another Storage backend can take over through STORAGES["sessions"].
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from django.core.files.base import File
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

    def sync_directory(self) -> None:
        """Make completed renames durable; callers batch this rather than paying it per file."""
        self.ensure_private_directory()
        fd = os.open(self.location, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def ensure_private_directory(self, directory: Path | None = None) -> None:
        directory = directory or Path(self.location)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _tighten(directory, 0o700)

    def tighten(self, name: str) -> None:
        _tighten(Path(self.path(name)), 0o600)


def _tighten(path: Path, wanted: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~wanted:
        os.chmod(path, wanted)
        logger.warning("Tightened %s from mode %o to %o", path, mode, wanted)


def session_storage() -> Storage:
    return storages["sessions"]
