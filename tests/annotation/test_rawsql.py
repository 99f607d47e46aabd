"""Every statement of ``annotation.rawsql`` gives what its ORM twin gives, on random data.

Each example builds a random queue (items, labels, skips, leases of three annotators, jobs,
memberships) in a transaction that is rolled back afterwards, and asks both versions the
same question. Statements that write are run each in a rolled-back transaction of its own
on the same data, and compared by what they return and what they leave behind. The suite
runs on SQLite and, in CI, on PostgreSQL, whose SQL (``FOR UPDATE SKIP LOCKED``, ``COPY``,
``ON CONFLICT``) differs most.
"""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from annotation import rawsql
from annotation.models import (
    Annotation,
    AnnotationSource,
    Item,
    ItemStatus,
    Job,
    JobKind,
    JobStatus,
    Lease,
    Membership,
    Project,
    Skip,
)  # fmt: skip
from annotation.services.projects import project_create
from tests.annotation import orm_twins
from tests.transactions import rolled_back

N_ITEMS = 7
PEOPLE = 3
KINDS = [JobKind.ACTIVE_LEARNING.value, JobKind.LABEL_ISSUES.value, JobKind.AGREEMENT.value]
examples = settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])

pair = st.tuples(st.integers(0, N_ITEMS - 1), st.integers(0, PEOPLE - 1))
worlds = st.fixed_dictionaries({
    "items": st.lists(st.tuples(
        st.sampled_from([ItemStatus.OPEN.value, ItemStatus.OPEN.value, ItemStatus.COMPLETE.value]),
        st.integers(0, 3), st.integers(1, 3), st.sampled_from([0.0, 0.5, 1.0, 1.5]),
        st.integers(0, 3), st.sampled_from([0, 7, 2**40 + 1]),
    ), min_size=N_ITEMS, max_size=N_ITEMS),  # status, count, overlap, priority, seq, generation
    "labels": st.dictionaries(pair, st.tuples(
        st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
        st.sampled_from([AnnotationSource.HUMAN.value, AnnotationSource.REVIEW.value]),
    )),
    "skips": st.sets(pair),
    "leases": st.dictionaries(pair, st.tuples(st.integers(-3, 3), st.integers(-9, 0))),
    "jobs": st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from([s.value for s in JobStatus]),
                               st.one_of(st.none(), st.integers(0, 20)))),  # fmt: skip
    "roles": st.lists(st.sampled_from([None, "annotator", "reviewer", "manager"]),
                      min_size=PEOPLE, max_size=PEOPLE),  # fmt: skip
})  # fmt: skip


@pytest.fixture
def cast(db, make_user):
    """A project and three people; ``world`` rows come and go inside each example."""
    users = [make_user(f"person{k}") for k in range(PEOPLE)]
    project = project_create(creator=None, name="Raw", labels=["a", "b", "c"])
    return project, users


def build(world, project, users, now=None) -> list[int]:
    """Write ``world`` (lease times relative to ``now``); returns the item ids in order."""
    now = now or timezone.now()
    items = Item.objects.bulk_create([
        Item(project=project, external_id=f"x{k}", text=f"t{k}", status=status,
             annotation_count=count, required_overlap=overlap, priority=prio, sequence=seq,
             score_generation=generation, vector=[k, 1.5])
        for k, (status, count, overlap, prio, seq, generation) in enumerate(world["items"])
    ])  # fmt: skip
    ids = [i.pk for i in items]
    Annotation.objects.bulk_create([
        Annotation(item_id=ids[i], project=project, annotator=users[u], labels=labels,
                   source=source)
        for (i, u), (labels, source) in sorted(world["labels"].items())
    ])  # fmt: skip
    Skip.objects.bulk_create([Skip(item_id=ids[i], annotator=users[u])
                              for i, u in sorted(world["skips"])])  # fmt: skip
    for (i, u), (expires, created) in sorted(world["leases"].items()):
        lease = Lease.objects.create(item_id=ids[i], annotator=users[u], project=project,
                                     expires_at=now + timedelta(minutes=expires))  # fmt: skip
        Lease.objects.filter(pk=lease.pk).update(created_at=now + timedelta(minutes=created))
    queued = set()
    for kind, status, watermark in world["jobs"]:
        if status == JobStatus.QUEUED and kind in queued:
            continue
        queued.add(kind) if status == JobStatus.QUEUED else None
        params = {} if watermark is None else {"watermark": watermark}
        Job.objects.create(project=project, kind=kind, status=status, params=params)
    Membership.objects.filter(project=project).delete()
    Membership.objects.bulk_create([Membership(project=project, user=users[k], role=role)
                                    for k, role in enumerate(world["roles"]) if role])  # fmt: skip
    return ids


def fields(obj, skip=()) -> dict | None:
    """Every loaded concrete field of ``obj`` (deferred ones left out), or None."""
    if obj is None:
        return None
    deferred = obj.get_deferred_fields()
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields
            if f.attname not in deferred and f.name not in skip}  # fmt: skip


def leases() -> set[tuple]:
    return set(Lease.objects.values_list("item_id", "annotator_id", "project_id", "created_at",
                                         "expires_at"))  # fmt: skip


def item_states() -> set[tuple]:
    return set(Item.objects.values_list("id", "annotation_count", "required_overlap", "status"))


@examples
@given(world=worlds, me=st.integers(0, PEOPLE - 1), exclude=st.sets(st.integers(0, N_ITEMS - 1)),
       lock=st.booleans())  # fmt: skip
def test_the_queue_head_and_the_held_lease_match_the_orm(cast, world, me, exclude, lock):
    project, users = cast

    def ask():
        ids = build(world, project, users)
        now, excluded = timezone.now(), [ids[k] for k in sorted(exclude)]
        args = {"project_id": project.pk, "annotator_id": users[me].pk, "now": now,
                "exclude_ids": excluded, "lock": lock}  # fmt: skip
        heads = [fields(f(**args)) for f in (rawsql.queue_head, orm_twins.queue_head)]
        args = {"project": project, "annotator": users[me], "now": now, "exclude_ids": excluded}
        held = [f(**args) for f in (rawsql.held_lease, orm_twins.held_lease)]
        return heads, [(fields(h), fields(h.item)) if h else None for h in held]

    heads, held = rolled_back(ask)
    assert heads[0] == heads[1]
    assert held[0] == held[1]


@examples
@given(world=worlds, who=pair, minutes=st.integers(1, 30))
def test_the_lease_writes_match_the_orm(cast, world, who, minutes):
    project, users = cast
    item_at, person = who
    now = timezone.now()

    def run(module, statement, item):
        args = {"item_id": item.pk, "annotator_id": users[person].pk}
        if statement == "lease_if_room":
            args |= {"project_id": project.pk, "now": now, "required_overlap":
                     item.required_overlap, "annotation_count": item.annotation_count,
                     "expires_at": now + timedelta(minutes=minutes)}  # fmt: skip
        got = getattr(module, statement)(**args)
        if statement == "lease_if_room" and got is not None:  # ids differ: name the lease
            got = Lease.objects.values_list("item_id", "annotator_id").get(pk=got)
        return got, leases()

    def ask():
        item = Item.objects.get(pk=build(world, project, users, now)[item_at])
        return {statement: [rolled_back(lambda m=m, s=statement: run(m, s, item))
                            for m in (rawsql, orm_twins)]
                for statement in ("lease_if_room", "lease_take")}  # fmt: skip

    for statement, (raw, orm) in rolled_back(ask).items():
        assert raw == orm, statement


@examples
@given(world=worlds, at=st.integers(0, N_ITEMS - 1), count=st.integers(0, 4),
       overlap=st.integers(1, 4), status=st.sampled_from([s.value for s in ItemStatus]))  # fmt: skip
def test_the_submit_statements_match_the_orm(cast, world, at, count, overlap, status):
    project, users = cast

    def run(module, item_id):
        item = fields(module.item_locked(item_id))
        labels = module.annotation_labels(item_id)
        names = module.project_label_names(project_id=project.pk)
        module.item_status_write(item_id=item_id, annotation_count=count,
                                 required_overlap=overlap, status=status)  # fmt: skip
        return item, labels, names, item_states()

    def ask():
        item_id = build(world, project, users)[at]
        return [rolled_back(lambda m=m: run(m, item_id)) for m in (rawsql, orm_twins)]

    raw, orm = rolled_back(ask)
    assert raw == orm


@examples
@given(world=worlds, who=st.integers(0, PEOPLE), at=st.integers(0, N_ITEMS),
       known=st.sets(st.integers(0, N_ITEMS + 2)))  # fmt: skip
def test_the_token_permission_and_lookup_statements_match_the_orm(cast, world, who, at, known):
    """``who == PEOPLE``/``at == N_ITEMS`` ask for a token, project or item that does not exist."""
    project, users = cast

    def ask():
        ids = build(world, project, users)
        tokens = [Token.objects.create(user=u).key for u in users] + ["f" * 40]
        user_id = users[who].pk if who < PEOPLE else 0
        item_id = ids[at] if at < N_ITEMS else max(ids) + 1
        external = [f"x{k}" for k in sorted(known)]
        answers = []
        for m in (rawsql, orm_twins):
            user = m.token_user(tokens[who])
            project_row = m.project_with_role(project_id=project.pk, user_id=user_id)
            answers.append((
                fields(user), user and user.token_created,
                fields(project_row), project_row and project_row.requester_role,
                fields(m.project_with_role(project_id=project.pk + 1, user_id=user_id)),
                fields(m.object_by_id(Item, item_id, deferred=rawsql.LARGE_ITEM_FIELDS)),
                sorted(m.item_ids_by_external_id(project_id=project.pk, external_ids=external)),
            ))  # fmt: skip
        return answers

    raw, orm = rolled_back(ask)
    assert raw == orm


annotation_rows = st.lists(st.tuples(
    st.lists(st.sampled_from(["a", "b", "ü"]), max_size=2),
    st.sampled_from([AnnotationSource.HUMAN.value, AnnotationSource.REVIEW.value]), st.integers(0, 10**6),
), max_size=12)  # fmt: skip


@examples
@given(rows=annotation_rows)
def test_the_copy_writer_matches_bulk_create(cast, rows):
    project, users = cast
    columns = ("item_id", "project_id", "labels", "source", "suggestion", "created_at",
               "updated_at")  # fmt: skip
    stamp = timezone.now().replace(microsecond=0)

    def run(module, item):
        module.fast_insert(Annotation, columns, [
            (item.pk, project.pk, json.dumps(labels), source, "",
             rawsql.db_datetime(stamp + timedelta(seconds=s)), rawsql.db_datetime(stamp))
            for labels, source, s in rows
        ])  # fmt: skip
        got = Annotation.objects.filter(item=item).order_by("id")
        return [(a.labels, a.source, a.suggestion) for a in got], [
            (a.created_at - stamp, a.updated_at - stamp) for a in got
        ]

    def ask():
        item = Item.objects.create(project=project, external_id="c", text="c")
        return [rolled_back(lambda m=m: run(m, item)) for m in (rawsql, orm_twins)]

    (raw, raw_times), (orm, _) = rolled_back(ask)
    assert raw == orm and len(raw) == len(rows)
    # bulk_create stamps auto_now(_add) columns with the clock; the COPY writer keeps the
    # times it was given (an import stamps a whole batch with one time).
    assert raw_times == [(timedelta(seconds=s), timedelta(0)) for _, _, s in rows]


def test_the_property_tests_see_the_queue_filters_at_work(cast):
    """A fixed example, so that a vacuous world generator cannot pass everything: the head
    skips my labeled, skipped, excluded and fully leased items, and the twin agrees."""
    project, users = cast
    world = {"items": [("open", 0, 1, 0.0, k, 0) for k in range(N_ITEMS)],
             "labels": {(0, 0): (["a"], "human")}, "skips": {(1, 0)},
             "leases": {(2, 1): (5, 0), (5, 0): (5, -1)}, "jobs": [], "roles": [None] * PEOPLE}  # fmt: skip
    ids = build(world, project, users)
    args = {"project_id": project.pk, "annotator_id": users[0].pk, "now": timezone.now(),
            "exclude_ids": [ids[3]], "lock": False}  # fmt: skip
    assert rawsql.queue_head(**args).pk == orm_twins.queue_head(**args).pk == ids[4]
    held = rawsql.held_lease(project=project, annotator=users[0], now=timezone.now(),
                             exclude_ids=())  # fmt: skip
    assert held.item_id == ids[5] and Project.objects.filter(pk=project.pk).exists()


# --- the import's streaming COPY ---------------------------------------------------------------

# Text as hostile as an import lets through: COPY's own escapes (tab, newline, carriage
# return, backslash, "\N"), quotes, and characters outside the BMP; never NUL (refused).
copy_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
                    max_size=20) | st.sampled_from(["\\N", "\\", "a\tb", "a\r\nb", "\\.", ""])  # fmt: skip
item_row = st.tuples(
    copy_text, st.one_of(st.none(), st.dictionaries(copy_text, copy_text, max_size=2)),
    st.one_of(st.none(), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=3)),
    st.sampled_from([ItemStatus.OPEN.value, ItemStatus.COMPLETE.value]), st.integers(0, 3),
    st.integers(-(2**62), 2**62),
)  # fmt: skip
STREAM_COLUMNS = ("external_id", "text", "meta", "vector", "status", "annotation_count", "sequence")


def copy_stream(model, columns, chunks, *, constants=None):
    """``rawsql.CopyStream`` over ``chunks``, closed after each (a later write reopens it)."""
    with rawsql.CopyStream(model, columns, constants=constants) as stream:
        for chunk in chunks:
            stream.write_rows(chunk)
            stream.close()


@examples
@given(chunks=st.lists(st.lists(item_row, max_size=6), max_size=3), overlap=st.integers(1, 3),
       prediction=copy_text)  # fmt: skip
def test_the_streaming_copy_matches_bulk_create(cast, chunks, overlap, prediction):
    project, _ = cast
    stamp = timezone.now().replace(microsecond=0)
    constants = {"project_id": project.pk, "required_overlap": overlap, "priority": 0.5,
                 "predicted_label": prediction[:100], "created_at": str(rawsql.db_datetime(stamp)),
                 "image": "", "consensus_method": ""}  # fmt: skip
    numbered, n = [], 0
    for chunk in chunks:
        rows = []
        for text, meta, vector, status, count, sequence in chunk:
            rows.append((f"e{n}{text}"[:255], text, json.dumps(meta or {}), None if vector is None
                         else json.dumps(vector), status, count, sequence))  # fmt: skip
            n += 1
        numbered.append(rows)

    def run(write):
        write(Item, STREAM_COLUMNS, numbered, constants=constants)
        got = Item.objects.filter(project=project).order_by("sequence", "external_id")
        return [(i.external_id, i.text, i.meta, i.vector, i.status, i.annotation_count,
                 i.sequence, i.required_overlap, i.priority, i.predicted_label, i.created_at)
                for i in got]  # fmt: skip

    raw = rolled_back(lambda: run(copy_stream))
    orm = rolled_back(lambda: run(orm_twins.copy_stream))
    assert [r[:-1] for r in raw] == [r[:-1] for r in orm] and len(raw) == n
    # bulk_create stamps created_at (auto_now_add) with the clock; the COPY keeps the given time.
    assert all(row[-1] == stamp for row in raw)


def test_leaving_the_streaming_copy_with_an_error_writes_nothing(cast):
    """The COPY is aborted, the statement rejected, and the connection usable afterwards."""
    project, _ = cast
    constants = {"project_id": project.pk, "meta": "{}", "image": "", "status": "open",
                 "required_overlap": 1, "annotation_count": 0, "sequence": 0, "priority": 0.0,
                 "predicted_label": "", "consensus_method": "",
                 "created_at": str(rawsql.db_datetime(timezone.now()))}  # fmt: skip
    with (
        pytest.raises(RuntimeError, match="parser gave up"),
        transaction.atomic(),
        rawsql.CopyStream(Item, ("external_id", "text"), constants=constants) as stream,
    ):
        stream.write_rows([("a", "written"), ("b", "then\tabandoned")])
        raise RuntimeError("parser gave up")
    assert not Item.objects.filter(project=project).exists()
