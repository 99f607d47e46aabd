"""An image item's file: stored under the project and batch, removed if the import rolls back.

The files are written during the import's transaction, which cannot take them back, so
every name stored is remembered and deleted when the import is rejected.
"""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


class SavedImages:
    """The files one import stored so far."""

    def __init__(self, *, project_id: int, batch_id: int):
        self._folder = f"projects/{project_id}/{batch_id}"
        self.names: list[str] = []

    def save(self, name: str, content: bytes) -> str:
        """Store ``content`` as ``name`` (made unique by the storage); return the stored name."""
        stored = default_storage.save(f"{self._folder}/{name}", ContentFile(content))
        self.names.append(stored)
        return stored

    def delete_all(self) -> None:
        for name in self.names:
            default_storage.delete(name)
        self.names.clear()
