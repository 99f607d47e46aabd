"""The API's JSON parser: DRF's, bounded in nesting depth, and without NUL.

Every JSON body reaches a view through here (``DEFAULT_PARSER_CLASSES``), so a body
nested thousands deep, or holding U+0000 that PostgreSQL cannot store, is one clear
400 at the edge instead of a ``RecursionError`` or ``DataError`` (500) further in.
"""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from annotation.importing import jsonsafe


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # DRF hands JSON parsers ``request.body``, which Django has already refused
        # past DATA_UPLOAD_MAX_MEMORY_SIZE (QUORUM_MAX_REQUEST_BYTES).
        body = stream.read()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(f"The JSON body is not valid {encoding}.") from None
        try:
            return jsonsafe.loads(text, max_depth=settings.QUORUM_MAX_JSON_DEPTH)
        except jsonsafe.JsonRejected as exc:
            where = f" (under {exc.field!r})" if exc.field else ""
            raise ParseError(f"{exc}{where}") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
