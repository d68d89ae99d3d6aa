"""The vault in the database (SESSION_STORE=database): each sealed entry a row, so worker hosts need only the
database and the broker. The same Storage API as the file store; the rows hold exactly the sealed tokens the files
would (never plaintext), and a save inside a transaction commits or rolls back with it."""

from __future__ import annotations

import errno

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible


@deconstructible
class SessionDatabaseStorage(Storage):
    def __init__(self, **_options: object) -> None:
        pass

    def _model(self):
        from accounts.models import VaultBlob

        return VaultBlob

    def _open(self, name: str, mode: str = "rb") -> File:
        data = self._model().objects.filter(name=name).values_list("data", flat=True).first()
        if data is None:
            raise FileNotFoundError(errno.ENOENT, "not in the database store", name)
        return ContentFile(bytes(data), name=name)

    def read_many(self, names: list[str]) -> dict[str, bytes]:
        """Many entries in one query (a check batch's sessions); a name not stored is absent from the answer."""
        rows = self._model().objects.filter(name__in=names).values_list("name", "data")
        return {name: bytes(data) for name, data in rows}

    def _save(self, name: str, content: File) -> str:
        data = b"".join(content.chunks())
        self._model().objects.update_or_create(name=name, defaults={"data": data})
        return name

    def save_many(self, entries: list[tuple[str, bytes]], written: list[str]) -> None:
        """Many entries in one insert (an import's chunk); an existing name is replaced, as `save` would."""
        model = self._model()
        model.objects.bulk_create([model(name=name, data=data) for name, data in entries], update_conflicts=True,
                                  unique_fields=["name"], update_fields=["data", "updated_at"])  # fmt: skip
        written.extend(name for name, _data in entries)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name  # each account owns its name; saving again replaces the entry

    def delete(self, name: str) -> None:
        self._model().objects.filter(name=name).delete()

    def exists(self, name: str) -> bool:
        return self._model().objects.filter(name=name).exists()

    def listdir(self, path: str = "") -> tuple[list[str], list[str]]:
        return [], list(self._model().objects.order_by("name").values_list("name", flat=True))

    def entries(self) -> list[tuple[str, float]]:
        """Every entry with the time it was last written (seconds since the epoch), in one query."""
        return [(name, at.timestamp()) for name, at in self._model().objects.values_list("name", "updated_at")]

    def size(self, name: str) -> int:
        from django.db.models.functions import Length

        size = self._model().objects.filter(name=name).annotate(n=Length("data")).values_list("n", flat=True).first()
        if size is None:
            raise FileNotFoundError(name)
        return size

    def sync_directory(self) -> None:
        """Durable at commit; nothing to do (the file store fsyncs its directory here)."""
