"""The server-less Celery broker: kombu's filesystem transport, with atomic message files.

kombu's ``filesystem`` transport creates a message file and then writes it, while
consumers list the same folder and move any ``*.msg`` file away to read it. A consumer
that gets there between the two reads an empty message: its ``json.loads`` raises, the
message is gone, and its job row stays "queued" for ever (kombu issue #1551; seen here
when ``bench/al_curve.py`` sent several hundred jobs). Writing under a name consumers
ignore and renaming it into place (atomic on one filesystem) closes that window.

Used only when ``REDIS_URL`` is unset (see ``CELERY_BROKER_TRANSPORT`` in settings).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's filesystem.Channel names the second argument `payload`, its base class `message`:
    # no override satisfies both, so mypy's override check is off for this one method.
    def _put(self, queue: str, payload: dict, **kwargs) -> None:  # type: ignore[override]
        """Put ``payload`` onto ``queue``: written in full before consumers can see it."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"  # "<queue>.msg.part" is not "<queue>.msg": consumers skip it
        try:
            with open(partial, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
