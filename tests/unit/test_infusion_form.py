"""The home-infusion form as families use it, through the form code (tests/formdriver.py):
every drug named anywhere is checked, a refusing fact refuses before any personal detail
is asked, an unclear safety answer asked twice counts as unsafe, and (a property test) no
conversation in which a skin-test drug, an unknown drug, a reaction or a contraindication
appears is ever booked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from actions.visits import ActionSubmitInfusion, ValidateInfusionForm
from bot.infra import db
from bot.infra import settings as bot_settings
from bot.models import BookingState, HomeVisitBooking
from bot.ops.seed import seed_demo, seed_policies
from bot.visits.booking import HOLDS_SLOT
from bot.visits.wording import without_prescriber
from tests.formdriver import FormDriver

FROZEN_NOW = "2026-11-25T15:45:00+08:00"  # a Wednesday afternoon

# Good answers to each question (the response that asks it), as families type them.
GOOD = {
    "utter_ask_visit_condition": "卧床不起",
    "utter_ask_visit_drug": "葡萄糖氯化钠",
    "utter_ask_visit_drug_more": "没有了",
    "utter_ask_visit_drug_source": "本中心开的",
    "utter_ask_visit_first_dose": "用过,没有不良反应",
    "utter_ask_visit_first_reaction": "没有",
    "utter_ask_visit_medical_record": "有",
    "utter_ask_visit_doctor_order": "有",
    "utter_ask_visit_health": "都没有",
    "utter_ask_visit_patient_name": "王秀英",
    "utter_ask_visit_phone": "19912345678",
    "utter_ask_visit_address": "康乐苑2幢301",
    "utter_ask_visit_date": "明天",
    "utter_ask_visit_half_day": "上午",
}
PERSONAL = {
    "utter_ask_visit_patient_name",
    "utter_ask_visit_phone",
    "utter_ask_visit_address",
}


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory) -> Iterator[str]:
    from bot.infra.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('infusion') / 'service.db'}"
    upgrade(url)
    engine = db.create_engine(url)
    with db.session_scope(engine) as session:
        seed_policies(session=session)
        seed_demo(session=session)
    engine.dispose()
    yield url


@pytest.fixture()
def world(demo_database, monkeypatch) -> Iterator[str]:
    """The actions read the demo database at the frozen time."""
    monkeypatch.setenv("DATABASE_URL", demo_database)
    monkeypatch.setenv("FROZEN_NOW", FROZEN_NOW)
    bot_settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield demo_database
    db.get_engine.cache_clear()
    bot_settings.get_settings.cache_clear()


def new_driver() -> FormDriver:
    return FormDriver(
        "infusion_form",
        ValidateInfusionForm(),
        ActionSubmitInfusion(),
        sender=f"web:{uuid.uuid4().hex[:12]}",
    )


def intent_of(text: str) -> str:
    """What the NLU would most likely say (the form must not depend on it)."""
    if text in {"/affirm", "有", "是", "是的"}:
        return "affirm"
    if text in {"/deny", "没有", "都没有", "没有了"}:
        return "deny"
    return "inform"


def converse(driver: FormDriver, opening: str, **answers: str) -> list[str]:
    """Open with `opening`, answer every question from `answers` (by response name, without
    the `utter_ask_visit_` prefix) or GOOD; return everything the assistant said."""
    chosen = {**GOOD, **{f"utter_ask_visit_{key}": value for key, value in answers.items()}}
    said = driver.say(opening, intent="book_home_visit")
    for _ in range(30):
        if driver.finished:
            return driver.said
        asked = said[-1]
        text = chosen[asked]
        said = driver.say(text, intent=intent_of(text))
    raise AssertionError(f"the form did not end: {driver.said}")


def bookings_of(sender: str) -> list[HomeVisitBooking]:
    with db.session_scope() as session:
        rows = list(
            session.scalars(
                select(HomeVisitBooking)
                .where(HomeVisitBooking.sender_id == sender)
                .order_by(HomeVisitBooking.id)
            )
        )
        for row in rows:
            _ = row.patient  # loaded before the session closes
        session.expunge_all()
    return rows


def test_an_eligible_request_asks_the_safety_questions_first_and_is_booked(world):
    driver = new_driver()
    said = converse(driver, "我想预约护士上门输液")
    asked = [name for name in said if name.startswith("utter_ask_")]
    assert asked[:5] == [
        "utter_ask_visit_condition",
        "utter_ask_visit_drug",
        "utter_ask_visit_drug_source",
        "utter_ask_visit_doctor_order",
        "utter_ask_visit_health",
    ]
    assert asked[5] == "utter_ask_visit_patient_name"
    [booking] = bookings_of(driver.sender)
    assert booking.state is BookingState.AWAITING_CONSENT
    assert booking.health == "none"
    assert "utter_visit_booked" in said


@pytest.mark.parametrize(
    "opening",
    [
        "医生开了葡萄糖加阿莫西林，想约护士上门输液",
        "我妈卧床，要打头孢，能上门吗",
        "能不能上门打丹参注射液",
        "上门输液 白蛋白",
    ],
)
def test_a_refusing_drug_in_the_first_message_refuses_at_once(world, opening):
    driver = new_driver()
    said = driver.say(opening, intent="book_home_visit")
    assert driver.finished
    assert "utter_visit_refused" in said
    assert not PERSONAL & set(said)
    [booking] = bookings_of(driver.sender)
    assert booking.state is BookingState.REFUSED
    assert booking.patient_id is None  # no personal detail was asked, none is kept


@pytest.mark.parametrize(
    "answer", ["葡萄糖加阿莫西林", "阿莫西林和葡萄糖", "葡萄糖、头孢", "盐水+青霉素", "维C 丹参"]
)
def test_every_drug_of_the_answer_is_checked(world, answer):
    driver = new_driver()
    said = converse(driver, "预约上门输液", drug=answer)
    assert "utter_visit_refused" in said
    assert not PERSONAL & set(said)
    assert all(b.state is BookingState.REFUSED for b in bookings_of(driver.sender))


def test_drugs_from_the_first_message_are_confirmed_and_more_are_checked(world):
    driver = new_driver()
    said = converse(driver, "医生开了葡萄糖，想约上门输液", drug_more="还有阿莫西林")
    assert "utter_ask_visit_drug_more" in said
    assert "utter_ask_visit_drug" not in said
    assert "utter_visit_refused" in said


def test_a_drug_named_in_passing_is_checked(world):
    driver = new_driver()
    said = converse(driver, "预约上门输液", address="康乐苑2幢301 对了还要加头孢")
    assert "utter_visit_refused" in said
    assert all(b.state is BookingState.REFUSED for b in bookings_of(driver.sender))


def test_an_unknown_drug_beside_a_known_one_waits_for_the_pharmacist(world):
    driver = new_driver()
    said = converse(driver, "预约上门输液", drug="葡萄糖加血必净")
    assert "utter_visit_review" in said
    [booking] = bookings_of(driver.sender)
    assert booking.state is BookingState.REQUESTED
    assert "血必净" in booking.review_note


@pytest.mark.parametrize(
    "answer",
    ["打过一次 但是起了疹子", "用过,有点心慌", "输过一次，身上有点痒", "用过,有过不良反应"],
)
def test_a_reaction_at_the_first_dose_refuses(world, answer):
    driver = new_driver()
    said = converse(driver, "预约上门输液", drug_source="外院带来的", first_dose=answer)
    assert "utter_visit_refused" in said
    assert not PERSONAL & set(said)


def test_a_first_dose_given_asks_about_reactions(world):
    driver = new_driver()
    said = converse(
        driver,
        "预约上门输液",
        drug_source="外院带来的",
        first_dose="用过",
        first_reaction="有点头晕",
    )
    assert "utter_ask_visit_first_reaction" in said
    assert "utter_visit_refused" in said


def test_an_external_drug_without_its_record_is_refused(world):
    driver = new_driver()
    said = converse(driver, "预约上门输液", drug_source="外院带来的", medical_record="没有")
    assert "utter_visit_refused" in said


def test_an_external_drug_with_everything_in_order_is_booked_and_flagged(world):
    driver = new_driver()
    said = converse(driver, "预约上门输液", drug_source="外院带来的")
    assert "utter_visit_booked" in said
    [booking] = bookings_of(driver.sender)
    assert booking.medical_record is True
    assert "首诊医院已用过一次" in booking.family_notes
    assert booking.drug_source == "external"


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("有药物过敏", "utter_visit_refused"),
        ("对青霉素过敏", "utter_visit_refused"),
        ("有禁忌症", "utter_visit_refused"),
        ("有高血压", "utter_visit_health_review"),
    ],
)
def test_allergies_and_contraindications(world, answer, outcome):
    driver = new_driver()
    said = converse(driver, "预约上门输液", health=answer)
    assert outcome in said
    assert not any(b.state in HOLDS_SLOT for b in bookings_of(driver.sender))


def test_an_allergy_in_the_first_message_refuses_at_once(world):
    driver = new_driver()
    said = driver.say("我妈青霉素过敏，卧床，想约上门输液", intent="book_home_visit")
    assert driver.finished
    assert "utter_visit_refused" in said


def test_an_answer_unclear_twice_counts_as_unsafe(world):
    driver = new_driver()
    said = converse(driver, "预约上门输液")  # walks to the end with good answers
    assert "utter_visit_booked" in said
    driver = new_driver()
    driver.say("预约上门输液", intent="book_home_visit")
    driver.say("卧床不起")
    driver.say("葡萄糖")
    driver.say("外院带来的")
    first = driver.say("嗯嗯那个")
    assert first == ["utter_visit_first_dose_unclear", "utter_ask_visit_first_dose"]
    second = driver.say("那个嗯嗯")
    assert "utter_visit_unclear_twice" in second
    assert "utter_visit_refused" in second
    assert driver.finished


def test_stop_words_leave_the_form_at_any_question(world):
    driver = new_driver()
    driver.say("预约上门输液", intent="book_home_visit")
    driver.say("卧床不起")
    said = driver.say("不预约了", intent="inform")
    assert "utter_visit_abandoned" in said
    assert driver.finished
    assert bookings_of(driver.sender) == []


# The property: whatever else is said, in whatever order, with whatever intent the NLU
# gives, a conversation in which an unsafe fact appears never ends in a booking.

SKIN_TEST = ["阿莫西林", "头孢", "青霉素", "头孢曲松钠", "罗氏芬"]
UNKNOWN = ["血必净", "某某进口针", "一种营养针"]
REACTIONS = ["打过一次 但是起了疹子", "用过,有点心慌", "用过 后来发烧了", "用过,脸有点红"]
CONTRAINDICATIONS = ["有禁忌症", "对青霉素过敏", "过敏体质", "医生说不能输液"]
SAFE_DRUGS = ["葡萄糖", "生理盐水", "维生素C", "葡萄糖氯化钠", "奥美拉唑"]
SEPARATORS = ["加", "和", "、", "+", " ", "，"]
NOISE = ["", "😀", "ok", "？？", "a" * 300, "\u202e\u0000", "我不知道", "康乐苑", "明天上午"]
INTENTS = ["inform", "affirm", "deny", "book_home_visit", "nlu_fallback", "ask_contact"]


@st.composite
def unsafe_conversations(draw):
    """Good answers, one unsafe fact put where the family might say it, noise between."""
    kind = draw(st.sampled_from(["skin_test", "unknown", "reaction", "contraindication"]))
    safe = draw(st.sampled_from(SAFE_DRUGS))
    separator = draw(st.sampled_from(SEPARATORS))
    answers = dict(GOOD)
    opening = "预约上门输液"
    if kind in {"skin_test", "unknown"}:
        bad = draw(st.sampled_from(SKIN_TEST if kind == "skin_test" else UNKNOWN))
        # The unknown drug cannot be heard in passing: it is only ever said as a drug.
        pair = [safe, bad] if draw(st.booleans()) else [bad, safe]
        where = draw(st.sampled_from(["opening", "drug", "drug_more"]))
        if where == "opening" and kind == "skin_test":
            opening = f"医生开了{separator.join(pair)}，想约上门输液"
        elif where == "drug_more":
            opening = f"医生开了{safe}，想约上门输液"
            answers["utter_ask_visit_drug_more"] = f"还有{bad}"
        else:
            answers["utter_ask_visit_drug"] = separator.join(pair)
    elif kind == "reaction":
        answers["utter_ask_visit_drug_source"] = "外院带来的"
        bad = answers["utter_ask_visit_first_dose"] = draw(st.sampled_from(REACTIONS))
    else:
        bad = answers["utter_ask_visit_health"] = draw(st.sampled_from(CONTRAINDICATIONS))
    noise = draw(st.dictionaries(st.integers(0, 14), st.sampled_from(NOISE), max_size=3))
    intents = draw(st.lists(st.sampled_from(INTENTS), min_size=40, max_size=40))
    return kind, bad, opening, answers, noise, intents


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(unsafe_conversations())
def test_no_booking_ever_results_from_an_unsafe_fact(world, conversation):
    kind, bad, opening, answers, noise, intents = conversation
    driver = new_driver()
    said = driver.say(opening, intent="book_home_visit")
    messages, turn = [opening], 0
    while not driver.finished and turn < 40:
        # Something that answers nothing, now and then; else the answer to the question.
        text = noise.pop(turn) if turn in noise else answers[said[-1]]
        messages.append(text)
        said = driver.say(text, intent=intents[turn], confidence=0.6)
        turn += 1
    booked = [b for b in bookings_of(driver.sender) if b.state in HOLDS_SLOT]
    if not any(bad in message for message in messages):
        return  # noise took the place of the unsafe answer: nothing to check
    OUTCOMES[kind].append(driver.said[-1] if driver.finished else "unfinished")
    assert booked == [], (kind, messages, driver.said)


OUTCOMES: dict[str, list[str]] = {
    kind: [] for kind in ("skin_test", "unknown", "reaction", "contraindication")
}


def test_zz_property_outcomes_are_reported(capsys):
    """Prints how the property test's conversations ended (for the closing note)."""
    with capsys.disabled():
        for kind, ends in OUTCOMES.items():
            counts = {end: ends.count(end) for end in sorted(set(ends))}
            print(f"\ninfusion property: {kind}: {len(ends)} conversations, ends {counts}")


def test_an_allergy_heard_in_passing_answers_the_health_question(world):
    driver = new_driver()
    driver.say("预约上门输液", intent="book_home_visit")
    driver.say("卧床不起")
    said = driver.say("葡萄糖，她对青霉素过敏")
    assert driver.finished
    assert "utter_visit_refused" in said
    assert driver.slots["visit_health"] is None  # reset after the refusal


def test_a_drug_answer_that_names_none_asks_again_even_if_read_as_a_denial(world):
    driver = new_driver()
    driver.say("预约上门输液", intent="book_home_visit")
    driver.say("卧床不起")
    said = driver.say("不知道", intent="deny")
    assert said == ["utter_visit_drug_unclear", "utter_ask_visit_drug"]
    said = driver.say("还是不知道", intent="deny")
    assert said == ["utter_ask_visit_drug_source"]  # kept as written: the pharmacist looks


def test_a_drug_answer_that_names_another_hospital_asks_item_5s_questions(world):
    driver = new_driver()
    driver.say("预约上门输液", intent="book_home_visit")
    driver.say("卧床不起")
    said = driver.say("人民医院开的 奥美拉唑")
    assert said == ["utter_ask_visit_first_dose"]  # the source was in the answer
    assert driver.slots["visit_drug_source"] == "external"


@pytest.mark.parametrize("opening", ["我也不知道能不能上门输液", "不清楚你们能不能上门打点滴"])
def test_not_knowing_something_else_is_not_a_drug_of_unknown_origin(world, opening):
    driver = new_driver()
    said = driver.say(opening, intent="book_home_visit")
    assert said == ["utter_ask_visit_condition"]
    assert driver.slots["visit_drug_source"] is None
    driver.say("卧床不起")
    said = driver.say("不知道叫啥 外院开的")
    assert driver.slots["visit_drug_source"] == "external"


def test_everything_said_in_one_breath_by_voice_input_is_not_asked_again(world):
    driver = new_driver()
    said = driver.say(
        "我婆婆八十七了脑梗以后一直卧床中心王医生开了医嘱打复方氯化钠"
        "想约护士下周三下午上门输液我们住和园小区11幢402",
        intent="book_home_visit",
    )
    slots = driver.slots
    assert slots["visit_condition"] == "bedridden"
    assert slots["visit_address"] == "和园小区11幢402"
    assert (slots["visit_date"], slots["visit_half_day"]) == ("2026-12-02", "pm")
    assert slots["visit_drug"]
    asked = {"utter_ask_visit_condition", "utter_ask_visit_date", "utter_ask_visit_half_day"}
    assert not asked & set(said)


def test_drugs_told_with_their_prescriber_are_read_and_a_day_told_in_passing_kept(world):
    driver = new_driver()
    driver.say("我爸中风以后躺床上起不来了", intent="book_home_visit")
    driver.say("社区中心李医生开了生理盐水加维生素C")
    assert driver.slots["visit_drug"] == "生理盐水加维生素C"
    assert driver.slots["visit_drug_source"] == "prescribed_here"
    # The day and half-day said while another question is asked are not asked again.
    driver.say("能不能叫护士来家里打 下礼拜一上午")
    assert driver.slots["visit_date"] == "2026-11-30"
    assert driver.slots["visit_half_day"] == "am"
    said = converse_from(driver)
    assert "utter_ask_visit_date" not in said and "utter_ask_visit_half_day" not in said
    (booking,) = bookings_of(driver.sender)
    assert booking.state is BookingState.AWAITING_CONSENT


def converse_from(driver: FormDriver) -> list[str]:
    """Answer every question still to come with GOOD; what the assistant said from now."""
    start = len(driver.said)
    for _ in range(30):
        if driver.finished:
            return driver.said[start:]
        text = GOOD[driver.said[-1]]
        driver.say(text, intent=intent_of(text))
    raise AssertionError(f"the form did not end: {driver.said}")


def test_a_past_day_in_an_answer_is_no_visit_day(world):
    driver = new_driver()
    driver.say("想约护士上门输液", intent="book_home_visit")
    driver.say("卧床不起")
    driver.say("人民医院开的头孢 第一次11月20号在人民医院打的")
    assert driver.slots["visit_date"] is None


@pytest.mark.parametrize(
    ("text", "drugs"),
    [
        ("社区中心李医生开了生理盐水加维生素C", "生理盐水加维生素C"),
        ("人民医院给开的头孢", "头孢"),
        ("大夫开了点葡萄糖", "葡萄糖"),
        # A drug, or a word that may be one, before the prescriber: every word is checked.
        ("头孢 医生开了 还有葡萄糖", "头孢 医生开了 还有葡萄糖"),
        ("XX注射液医生开了还有葡萄糖", "XX注射液医生开了还有葡萄糖"),
        ("医生开的", "医生开的"),
    ],
)
def test_who_prescribed_the_drugs_is_not_a_drug(text, drugs):
    assert without_prescriber(text) == drugs
