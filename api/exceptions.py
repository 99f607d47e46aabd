"""Turns domain ValidationErrors raised by services into DRF's 400 answers, and a database
that does not answer (a restart, a failover) into 503 "retry" instead of a bare 500."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

DATABASE_UNAVAILABLE = {
    "code": "database_unavailable",
    "detail": "The database did not answer, so nothing was done; try again in a few seconds.",
}


def exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The transaction rolled back; Django closes the broken connection when the
        # request ends, and the next request reconnects (CONN_HEALTH_CHECKS).
        response = Response(DATABASE_UNAVAILABLE, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        response["Retry-After"] = "2"
        return response
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    return drf_exception_handler(exc, context)
