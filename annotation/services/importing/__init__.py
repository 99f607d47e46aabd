"""Importing items: validate every row, then insert all of them or none.

One module per concern:

- ``service``: the entry points (``import_file``, ``import_objects``) and the
  all-or-nothing transaction.
- ``pipeline``: rows to items: validation, duplicate ids, the item rows to insert.
- ``writer``: one COPY kept open across chunks on PostgreSQL, a writer thread on SQLite.
- ``media``: storing an image item's file (and removing it when the import rolls back).
- ``job``: the background job handler for large files.
"""

from annotation.services.importing.job import import_job_handler
from annotation.services.importing.result import ON_DUPLICATE, ImportResult
from annotation.services.importing.service import import_file, import_objects

__all__ = ["ON_DUPLICATE", "ImportResult", "import_file", "import_job_handler", "import_objects"]
