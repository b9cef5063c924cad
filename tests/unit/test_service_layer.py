"""The service layer's contract: actions/ opens no database session and imports no
SQLAlchemy (they call `bot/<flow>/service.py`), and the smaller use cases (regulations,
staff binding, contact details) answer with plain data from the demo database."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.directory import contacts_for
from bot.infra.db import session_scope
from bot.models import StaffRole
from bot.policies.service import answer_policy, policy_titles
from bot.staff import BindOutcome, StaffBinding, create_invite, redeem_invite_code

ACTIONS = Path(__file__).resolve().parents[2] / "actions"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module or "")
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_no_action_opens_a_session_or_imports_sqlalchemy():
    files = sorted(ACTIONS.glob("*.py"))
    assert len(files) > 5
    for path in files:
        modules = imported_modules(path)
        assert not [m for m in modules if m.split(".")[0] == "sqlalchemy"], path.name
        assert "bot.infra.db.session_scope" not in modules, path.name
        assert "session_scope" not in path.read_text(encoding="utf-8"), path.name


def test_a_question_is_answered_with_a_clause_and_its_citation(service_database):
    reply = answer_policy(question="燃气表多久抄一次表?", sender_id="tg:customer")
    assert reply.best is not None and reply.best.citation and reply.best.text
    assert not reply.staff_only


def test_staff_may_list_more_regulations_than_customers(service_database):
    public = policy_titles(sender_id="tg:customer")
    assert public
    with session_scope() as session:
        _, code = create_invite(session=session, name="张会计", role=StaffRole.STAFF)
    assert redeem_invite_code(sender_id="tg:clerk", code=code) == StaffBinding(
        BindOutcome.BOUND, "张会计", "工作人员"
    )
    staff = policy_titles(sender_id="tg:clerk")
    assert set(public) < set(staff)


def test_a_staff_member_whose_question_no_clause_answers_is_sent_to_their_managers(
    service_database,
):
    question = "上门服务骑电动车的路费能报销吗 一趟给多少"
    customer = answer_policy(question=question, sender_id="tg:customer")
    assert customer.best is None and not customer.by_staff
    with session_scope() as session:
        _, code = create_invite(session=session, name="护工小秦", role=StaffRole.STAFF)
    redeem_invite_code(sender_id="tg:carer", code=code)
    staff = answer_policy(question=question, sender_id="tg:carer")
    assert staff.best is None and staff.by_staff
    answered = answer_policy(question="燃气表多久抄一次表?", sender_id="tg:carer")
    assert answered.best is not None and not answered.by_staff


def test_an_invite_code_binds_once(service_database):
    with session_scope() as session:
        _, code = create_invite(session=session, name="王主管", role=StaffRole.SUPERVISOR)
    assert redeem_invite_code(sender_id="tg:a", code=code).outcome is BindOutcome.BOUND
    assert redeem_invite_code(sender_id="tg:b", code=code) == StaffBinding(BindOutcome.USED)
    assert redeem_invite_code(sender_id="tg:b", code="NOTACODE").outcome is BindOutcome.INVALID


def test_contact_details_name_one_department_or_all(service_database):
    everyone = contacts_for("怎么联系你们")
    assert len(everyone) > 1
    [gas] = contacts_for("燃气公司电话多少")
    assert gas.phone and gas.opening_hours
    assert gas in everyone
