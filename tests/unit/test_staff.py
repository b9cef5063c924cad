"""Staff binding with one-time codes, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.identity import FAILURE_WINDOW, LOCKOUT, MAX_FAILURES, locked_until
from bot.infra.db import session_scope
from bot.models import BindingAttempt, StaffInvite, StaffRole
from bot.policies.answer import audiences_for
from bot.staff import (
    BindOutcome,
    create_invite,
    find_code,
    hash_code,
    is_invite_code,
    list_staff,
    redeem_invite,
    revoke_staff,
    staff_member,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def invite(engine, role=StaffRole.TEACHER, hours=72, now=NOW) -> str:
    with session_scope(engine) as session:
        _, code = create_invite(session=session, name="王芳", role=role, hours=hours, now=now)
    return code


def redeem(engine, sender, code, now=NOW):
    with session_scope(engine) as session:
        result = redeem_invite(session=session, sender_id=sender, code=code, now=now)
        return result.outcome


def test_code_is_stored_hashed_and_binds_once(engine):
    code = invite(engine)
    with session_scope(engine) as session:
        stored = session.scalars(select(StaffInvite)).one()
        assert stored.code_hash == hash_code(code)
        assert code.replace("-", "") not in stored.code_hash.upper()

    assert redeem(engine, "tg:1001", code) is BindOutcome.BOUND
    with session_scope(engine) as session:
        member = staff_member(session=session, sender_id="tg:1001")
        assert member is not None
        assert (member.name, member.role) == ("王芳", StaffRole.TEACHER)
        assert len(audiences_for(session=session, sender_id="tg:1001")) == 2
        assert len(audiences_for(session=session, sender_id="tg:2002")) == 1
    assert redeem(engine, "tg:2002", code) is BindOutcome.USED
    with session_scope(engine) as session:
        assert staff_member(session=session, sender_id="tg:2002") is None


def test_code_is_read_however_it_is_typed(engine):
    code = invite(engine)
    typed = code.lower().replace("-", " ")
    assert find_code(f"我是新来的老师,绑定码 {typed} 谢谢") == code
    assert redeem(engine, "wx:abc", typed) is BindOutcome.BOUND


def test_find_code_ignores_numbers_and_words():
    assert find_code("户号 88002345 查一下") is None
    assert find_code("手机 13812345678") is None
    assert find_code("我想绑定员工身份") is None
    assert find_code("") is None


def test_expired_and_unknown_codes_are_refused(engine):
    code = invite(engine, hours=1)
    assert redeem(engine, "tg:1", code, now=NOW + timedelta(hours=2)) is BindOutcome.EXPIRED
    assert redeem(engine, "tg:1", "ABCD-EFGH") is BindOutcome.INVALID
    with session_scope(engine) as session:
        reasons = session.scalars(select(BindingAttempt.reason).order_by(BindingAttempt.id)).all()
    assert reasons == ["expired", "invalid"]


def test_five_failures_lock_the_sender_out_for_thirty_minutes(engine):
    code = invite(engine)
    for minute in range(MAX_FAILURES):
        when = NOW + timedelta(minutes=minute)
        assert redeem(engine, "tg:9", "WXYZ-2345", now=when) is BindOutcome.INVALID
    last = NOW + timedelta(minutes=MAX_FAILURES - 1)
    # Even the right code is refused while locked out, and the refusal is logged.
    assert redeem(engine, "tg:9", code, now=last + timedelta(minutes=1)) is BindOutcome.LOCKED
    with session_scope(engine) as session:
        assert locked_until(session=session, sender_id="tg:9", kind="staff", now=last) == (
            last + LOCKOUT
        )
        # Another sender is not affected.
        assert locked_until(session=session, sender_id="tg:8", kind="staff", now=last) is None
    assert redeem(engine, "tg:9", code, now=last + LOCKOUT + timedelta(seconds=1)) is (
        BindOutcome.BOUND
    )


def test_failures_spread_over_more_than_the_window_do_not_lock(engine):
    spacing = FAILURE_WINDOW / (MAX_FAILURES - 1) + timedelta(minutes=1)
    for number in range(MAX_FAILURES + 2):
        when = NOW + number * spacing
        assert redeem(engine, "tg:7", "WXYZ-2345", now=when) is BindOutcome.INVALID


def test_two_senders_racing_for_one_code_bind_only_one(engine, database_url):
    code = invite(engine)
    outcomes: list[BindOutcome] = []
    barrier = threading.Barrier(2)

    def race(sender: str) -> None:
        barrier.wait()
        outcomes.append(redeem(engine, sender, code))

    threads = [threading.Thread(target=race, args=(f"tg:{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.value for o in outcomes) == ["bound", "used"]
    with session_scope(engine) as session:
        assert len(list_staff(session=session)) == 1


def test_rebinding_changes_the_role_and_revoke_unbinds(engine):
    assert redeem(engine, "tg:5", invite(engine, role=StaffRole.NURSE)) is BindOutcome.BOUND
    assert redeem(engine, "tg:5", invite(engine, role=StaffRole.SUPERVISOR)) is BindOutcome.BOUND
    with session_scope(engine) as session:
        member = staff_member(session=session, sender_id="tg:5")
        assert member is not None and member.role is StaffRole.SUPERVISOR
        assert revoke_staff(session=session, sender_id="tg:5")
        assert not revoke_staff(session=session, sender_id="tg:5")
        assert staff_member(session=session, sender_id="tg:5") is None


def test_a_teacher_invite_links_the_teacher_record(engine):
    from bot.models import Teacher
    from bot.school.schools import new_school
    from bot.staff import teacher_of

    with session_scope(engine) as session:
        school = new_school(
            code="s1",
            name="测试小学",
            care_start=datetime(2026, 1, 1, 16, 30).time(),
            care_end=datetime(2026, 1, 1, 18, 0).time(),
        )
        session.add(school)
        session.flush()
        teacher = Teacher(school_id=school.id, name="李老师", phone="19900010001")
        session.add(teacher)
        session.flush()
        _, code = create_invite(
            session=session, name="李老师", role=StaffRole.TEACHER, teacher_id=teacher.id, now=NOW
        )
    assert redeem(engine, "tg:t", code) is BindOutcome.BOUND
    with session_scope(engine) as session:
        teacher = teacher_of(session=session, sender_id="tg:t")
        assert teacher is not None and teacher.name == "李老师"
        assert teacher_of(session=session, sender_id="tg:other") is None


@pytest.mark.parametrize(
    ("text", "is_code"),
    [
        ("5MPA-M34V", True),
        ("7k3x sgdh", True),
        ("绑定码 7K3X-SGDH", True),
        ("ABCD-2345 是这个吗", False),  # a question
        ("12345678", False),  # digits alone are no code (an account number)
        ("我家户号31001003 欠多少", False),
    ],
)
def test_a_message_that_is_an_invite_code(text, is_code):
    assert is_invite_code(text) is is_code
