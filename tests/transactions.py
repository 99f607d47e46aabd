"""Run something in a transaction that is rolled back: one example of a property test."""

from django.db import transaction


class _Rollback(Exception):
    pass


def rolled_back(fn):
    """``fn()``'s result, computed in a transaction (a savepoint inside the test's) that is
    then rolled back, so the next example starts from the same rows."""
    box = []
    try:
        with transaction.atomic():
            box.append(fn())
            raise _Rollback
    except _Rollback:
        pass
    return box[0]
