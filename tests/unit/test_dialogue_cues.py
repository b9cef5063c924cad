"""Requests a message makes in so many words, read when the NLU is unsure of it."""

from __future__ import annotations

import pytest

from bot.dialogue.cues import (
    asks_about_work_rules,
    asks_for_leave_not_called_off,
    asks_whether_care_is_compulsory,
    service_cue,
)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        (
            "您好 麻烦您 我家厨房那个燃气表好像坏了 做饭的时候那个数字一点都不转 "
            "想请师傅来看看 谢谢您了",
            "report_meter_fault",
        ),
        ("俺家气表这两天走得贼快", "report_meter_fault"),
        ("想表样一下星河小学看护班的吴老师 我家孩子作业不会 他耐心陪着讲到五点多", "give_praise"),
        ("给社区的陈护士点个赞 打针一点不疼", "give_praise"),
        (
            "赶紧的我在开车 许佳怡下周三看护不去了 去少年宫比赛 学号2023010305 手机19900001026",
            "request_leave",
        ),
        ("闺女明天请一天假 发烧了", "request_leave"),
        ("投诉你们助餐 给我爸送的午饭连着三天都是凉的 他胃不好 吃了就疼", "file_complaint"),
        ("我要投诉 抄表员态度很差", "file_complaint"),
        ("投诉 燃气表装歪了 师傅不管", "file_complaint"),
        (
            "我奶奶甘秀珍一个人住在滨江路20号3单元501电话13812345771"
            "想给她申请每天送个午饭再找人陪她说说话下礼拜四开始就行",
            "elderly_care",
        ),
        ("想给我爸申请助餐 住幸福小区3栋201", "elderly_care"),
    ],
)
def test_a_plain_request_is_read_from_its_words(text, intent):
    assert service_cue(text) == intent


@pytest.mark.parametrize(
    "text",
    [
        "员工收到表扬信有奖金吗",  # a question on the rules
        "燃气表坏了修要收钱不",
        "表扬了 燃气表也坏了",  # two requests: the NLU's buttons decide
        "我的手表坏了",  # a watch
        "",
        "今天天气不错",
        "明天那个假取消掉",  # called off: cancel_leave's
        "好的 已经请过假了 谢谢",
        "请假要提前几天说",  # a question on the rules
        "投诉一般多久能有人管",  # a question on complaint handling
        "投诉进度查一下",  # the status of one: check_complaint_status's
        "我爸吃了你们送的饭就拉肚子",  # names no request
        "助餐一个月多少钱",  # a question
    ],
)
def test_questions_and_other_words_are_left_to_the_nlu(text):
    assert service_cue(text) is None


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("学校那个晚托是不是必须得去啊 我家娃不想留", True),
        ("课后看护可以不参加吗", True),
        ("托管是强制的吗", True),
        ("孩子明天不参加课后看护,发烧了", False),
        ("我自愿不参加 明天请假", False),  # no question
    ],
)
def test_whether_care_must_be_attended_is_asked(text, asks):
    assert asks_whether_care_is_compulsory(text) is asks


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("礼拜天被叫去抢修 这加班费咋算的 给几倍工资啊", True),
        ("年假有几天", True),
        ("值班有补贴吗", True),
        ("我的燃气费多少钱", False),  # a customer's bill
        ("加班到很晚 谢谢你们", False),  # no question
    ],
)
def test_questions_on_pay_and_working_time_are_recognised(text, asks):
    assert asks_about_work_rules(text) is asks


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("那明天的能请不 明天也去不了", True),
        ("后天也请一天", True),
        ("那周五能请吗", True),
        ("孩子好了 明天还是去看护吧 之前请的假帮我取消一下", False),
        ("明天那个假不用了", False),
        ("下周二那个假撤了吧", False),
        ("明天去不了的那个假撤了吧", False),
        ("明天不请了", False),
        ("我记错了 是下礼拜二那个", False),
    ],
)
def test_a_leave_asked_for_is_told_from_one_called_off(text, asks):
    assert asks_for_leave_not_called_off(text) is asks
