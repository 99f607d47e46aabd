"""`make test` beside a running `make run` in the same checkout: the tests keep their own
broker folder, database, cache, uploads and media, so the running worker never sees them."""

from pathlib import Path

from django.conf import settings

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_test_run_writes_nothing_into_the_checkouts_var_or_media():
    shared = {CHECKOUT / "var", CHECKOUT / "media"}
    for folder in (settings.VAR_DIR, settings.CELERY_FS_DIR, settings.MEDIA_ROOT,
                   settings.QUORUM_UPLOAD_DIR, settings.QUORUM_EXPORT_DIR):  # fmt: skip
        path = Path(folder).resolve()
        assert not any(path == s or s in path.parents for s in shared), path
    database = Path(settings.DATABASES["default"]["NAME"])
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert CHECKOUT / "var" not in database.resolve().parents


def test_the_test_runs_messages_go_to_a_queue_no_make_run_worker_reads():
    from quorum.celery import app

    assert app.conf.task_default_queue != "celery"
