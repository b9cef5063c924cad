"""The first stage of the two-stage fallback: when the assistant is unsure what a message
means, it offers the most likely services as buttons instead of guessing.

Rasa's `action_two_stage_fallback` loop calls `action_default_ask_affirmation` (this
action) after an `nlu_fallback`. A button press names the intent and the loop replays
the message with it; "都不是" sends `/out_of_scope`, after which Rasa asks the user to
rephrase (`utter_ask_rephrase`) and, failing again, gives up with `utter_default`.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.emergency import leak_under_way, say_leak_again, warn_of_gas
from actions.followups import as_policy_question

# What each intent offers, in the words a customer would choose from.
INTENT_CHOICES: dict[str, str] = {
    "check_gas_bill": "查询燃气费、欠费或余额",
    "check_gas_usage": "查询用气量",
    "ask_gas_payment": "了解燃气费缴费方式",
    "ask_gas_price": "了解燃气价格和收费标准",
    "ask_business_hall": "查询燃气营业厅",
    "ask_meter_schedule": "查询抄表时间",
    "report_meter_fault": "燃气表故障报修",
    "check_fault_status": "查询报修进度",
    "set_arrears_reminder": "设置欠费提醒",
    "bind_gas_account": "绑定燃气户号",
    "unbind_gas_account": "解绑燃气户号",
    "gas_leak": "燃气泄漏紧急处理",
    "request_leave": "为孩子请假（课后看护）",
    "cancel_leave": "取消课后看护请假",
    "list_leaves": "查看孩子的请假记录",
    "bind_student": "绑定孩子的学号",
    "teacher_leaves": "查看班级请假名单（老师）",
    "ask_leave_alone": "孩子能否自行离校",
    "ask_care_times": "查询课后看护时间",
    "book_home_visit": "预约护士上门输液",
    "check_booking": "查询上门服务预约",
    "cancel_booking": "取消上门服务预约",
    "reschedule_booking": "修改上门服务时间",
    "nurse_visits": "查看我的出诊安排（护士）",
    "elderly_care": "申请居家养老上门服务",
    "file_complaint": "投诉或反映问题",
    "give_praise": "表扬工作人员",
    "check_complaint_status": "查询投诉处理进度",
    "rate_service": "为服务打分",
    "list_open_complaints": "查看待处理投诉（主管）",
    "ask_policy": "查询服务管理制度的规定",
    "list_policies": "查看制度目录",
    "bind_staff": "员工身份绑定",
    "help": "了解我能办理哪些业务",
    "ask_contact": "各部门联系电话（人工服务）",
}

# Below this confidence an intent is not worth offering.
MIN_CHOICE_CONFIDENCE = 0.1
MAX_CHOICES = 2
NONE_OF_THESE = {"title": "都不是", "payload": "/out_of_scope"}


def choices_for(intent_ranking: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The most likely services for a message, as buttons, best first."""
    buttons: list[dict[str, str]] = []
    for candidate in intent_ranking:
        name = candidate.get("name")
        confidence = candidate.get("confidence") or 0.0
        if name not in INTENT_CHOICES or confidence < MIN_CHOICE_CONFIDENCE:
            continue
        buttons.append({"title": INTENT_CHOICES[name], "payload": f"/{name}"})
        if len(buttons) == MAX_CHOICES:
            break
    return buttons


class ActionAskAffirmation(Action):
    """Ask which of the likely services the user means, with buttons."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # During a leak the steps again; a smell near the word gas is warned of before
        # anything is asked.
        if leak_under_way(tracker):
            say_leak_again(dispatcher)
        else:
            warn_of_gas(dispatcher, tracker)
        buttons = choices_for(tracker.latest_message.get("intent_ranking") or [])
        if not buttons:
            # Nothing is likely enough to offer: show what the assistant does instead.
            dispatcher.utter_message(response="utter_ask_affirmation_no_choice")
            return []
        dispatcher.utter_message(
            response="utter_ask_affirmation", buttons=[*buttons, NONE_OF_THESE]
        )
        return []


# The intents that stand for a message outside the assistant's services (the oos_* ones
# are merged into out_of_scope by the NLU; they are listed for the rules that name them).
OUT_OF_SCOPE_INTENTS = frozenset(
    {"out_of_scope", "oos_utility", "oos_services", "oos_chitchat", "oos_junk"}
)


def out_of_scope_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user messages, counting back from the newest, were out of
    scope (the newest included)."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in OUT_OF_SCOPE_INTENTS:
            break
        count += 1
    return count


class ActionOutOfScope(Action):
    """Say what the assistant does when a message is outside its services; said once in
    full, a second time in a row it points to a person, and after that it only says, in
    a few words, what the user can do (the two alternate), so the same text is never
    said twice in a row."""

    def name(self) -> str:
        return "action_out_of_scope"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if leak_under_way(tracker):
            # "外面客人还在吃饭呢 要让他们先出去吗" is about the leak just told.
            say_leak_again(dispatcher)
            return []
        rescued = as_policy_question(tracker)
        if rescued:
            return rescued
        in_a_row = out_of_scope_in_a_row(tracker)
        if in_a_row <= 1:
            dispatcher.utter_message(response="utter_out_of_scope")
        elif in_a_row % 2 == 0:
            dispatcher.utter_message(response="utter_out_of_scope_again")
        else:
            dispatcher.utter_message(response="utter_out_of_scope_still")
        return []
