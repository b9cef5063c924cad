"""Reading what people type, in one place for every flow: one script and one width
(`normalize_chinese`), numbers however they are written (`to_digits`: full-width digits,
Chinese numerals, "幺" for one, digits split by spaces or dashes), phone numbers, and the
words that stop a form or correct an answer. Dates are in `bot.reading.dates`.

Nothing here imports Rasa: actions, channels, the desk and the CLI read text the same way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import cn2an
from opencc import OpenCC


def words(table: str) -> list[str]:
    """The words of a word table written in the code, separated by whitespace."""
    return table.split()


_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


@lru_cache(maxsize=1)
def _converter() -> OpenCC:
    return OpenCC("t2s")


def normalize_chinese(text: str) -> str:
    """Simplified characters, half-width letters, digits and punctuation."""
    # Only runs of Chinese characters go through opencc: it mangles some digit runs
    # ("8800012345" lost a zero), and account numbers must stay exactly as typed.
    converter = _converter()
    return _HAN_RUN.sub(
        lambda match: str(converter.convert(match.group(0))),
        unicodedata.normalize("NFKC", text or ""),
    )


# Digits said one by one, as phone numbers and account numbers are read out: "幺三九",
# "二零一一". Three or more in a row are a number typed in words, never a quantity.
_SPOKEN_DIGITS = {"零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "二": "2", "两": "2"}
_SPOKEN_DIGITS.update(dict(zip("三四五六七八九", "3456789", strict=True)))
_SPOKEN_RUN = re.compile(rf"[{''.join(_SPOKEN_DIGITS)}]{{3,}}")
# A quantity in Chinese numerals with 十 or 百 ("十二", "二十三", "一百零五").
_QUANTITY = re.compile(r"[零〇一二两三四五六七八九]?[十百][零〇一二两三四五六七八九十]*")
# Digits grouped for readability: "139 0000 1111", "139-0000-1111", "8800 1234" (a date
# such as "2026-12-03" is not grouped so, nor are two numbers side by side).
_GROUPED_DIGITS = re.compile(r"(?<!\d)\d{3,4}(?:[ \-—·]\d{4}){1,2}(?!\d)")


def to_digits(text: str) -> str:
    """The text with every number written in digits: full width, Chinese numerals and
    digit groups joined ("幺三九 0000 一一一一" -> "13900001111", "十二" -> "12")."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _SPOKEN_RUN.sub(lambda m: "".join(_SPOKEN_DIGITS[c] for c in m.group(0)), text)
    text = _QUANTITY.sub(lambda m: _quantity(m.group(0)), text)
    return _GROUPED_DIGITS.sub(lambda m: re.sub(r"\D", "", m.group(0)), text)


def _quantity(words: str) -> str:
    try:
        return str(cn2an.cn2an(words, "smart"))
    except ValueError:
        return words


_NUMBER = re.compile(r"(?<!\d)\d+(?!\d)")


def numbers_in(text: str, *, min_length: int = 1, max_length: int = 32) -> list[str]:
    """The numbers the text gives, read with `to_digits`, of the lengths asked for."""
    found = _NUMBER.findall(to_digits(text))
    return [number for number in found if min_length <= len(number) <= max_length]


_MOBILE = re.compile(r"(?<!\d)(?:\+?86)?(1[3-9]\d{9})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?\d{7,8})(?!\d)")


def find_mobile(text: str) -> str | None:
    """The mainland mobile number the text gives, in 11 digits, or None."""
    match = _MOBILE.search(to_digits(text))
    return match.group(1) if match else None


def find_phone(text: str) -> str | None:
    """A mobile or landline number the text gives (landlines as typed, area code first)."""
    mobile = find_mobile(text)
    if mobile:
        return mobile
    match = _LANDLINE.search(unicodedata.normalize("NFKC", text or "").replace(" ", ""))
    return match.group(1) if match else None


def find_last_four(text: str) -> str | None:
    """The four digits the text gives on their own ("尾号1111", "后四位是一一一一"), or the
    last four of a whole mobile number; the same digits said twice, or the ones a correction
    in the message leaves, count once."""
    mobile = find_mobile(text)
    if mobile:
        return mobile[-4:]
    four = set(numbers_in(text, min_length=4, max_length=4))
    if len(four) > 1:  # "尾号2017 不对 是2007": those after the correction ("" without one)
        four = set(numbers_in(corrected_value(text), min_length=4, max_length=4))
    return four.pop() if len(four) == 1 else None  # "尾号是2007 对 2007": said twice


# A clear stop: the person no longer wants what the form is for. Words that only say "no"
# ("不用了", "算了") stop a form unless it asked a yes/no question, where they answer it;
# words that name what is stopped ("不预约了", "我没要投诉") stop any form. "不对" corrects.
_NEVER_MIND = re.compile(
    r"^(?:不用了|不要了|不需要了|不用啦|取消|先这样|停|停止|退出|结束|exit|quit|stop|cancel)"
    r"(?:吧|了|呀|啊|谢谢|谢了)*$"
    r"|不用了谢谢",
    re.IGNORECASE,
)
_STOP_NAMED = re.compile(
    r"算了|不弄了|我不(?:办|弄)了|别(?:弄|办)了|不想(?:弄|办)了"
    r"|先不(?:约|请|报|投诉|绑|预约|登记|申请|修)了?"
    r"|不(?:想|要|用)?(?:预约|约|请假|请|投诉|报修|报|绑定|绑|登记|订|申请|修|查|问|办|说)了"
    r"|(?:^|我)(?:没|没有|不|并没|并不)(?:说|是|想|要|打算|准备|有)*投诉(?!电话|热线|结果|记录|渠道|的)"
    r"|^取消(?:预约|请假|投诉|报修|绑定|登记|办理|申请)(?:吧|了)?$"
    r"|别(?:登记|约|预约|报|请)了"
    r"|^(?:我|那)?不(?:想|要)?(?:预约|约|请假|投诉|办|弄)$"
)
# Words that take back an answer already given and give another: the form changes that
# slot and keeps the rest.
_CORRECTION = re.compile(
    r"不对|错了|写错|输错|打错|搞错|说错|弄错|记错|改成|改为|改到|换成|换到|改一下|更正|纠正|应该是|其实是|重新填|不是.{1,12}是"
)


def says_stop(text: str, *, yes_no_question: bool = False) -> bool:
    """Whether the message clearly asks to stop what is being filled in; after a yes/no
    question only words naming what is stopped count ("不用了" answers it)."""
    cleaned = re.sub(r"[\s,，、~～。.!！?？]+", "", normalize_chinese(text)).lower()
    if not cleaned:
        return False
    return bool(_STOP_NAMED.search(cleaned)) or (
        not yes_no_question and bool(_NEVER_MIND.search(cleaned))
    )


def says_correction(text: str) -> bool:
    """Whether the message corrects something said before ("不对,是后天", "改成周四")."""
    return bool(_CORRECTION.search(normalize_chinese(text)))


# What is left before the new value once the correction's words are taken out.
_BEFORE_VALUE = re.compile(
    r"^[了啦呀]?[\s,，、:：。.!！]*(?:应该是|应该|其实是|改成|改为|换成|是|为|在|到)?[\s,，、:：]*"
)


def corrected_value(text: str) -> str:
    """The new value a correction gives, as said after its last correction words ("地址写错了
    是康乐苑9幢101" -> "康乐苑9幢101"); "" when nothing follows them."""
    normalized = normalize_chinese(text).strip()
    matches = list(_CORRECTION.finditer(normalized))
    if not matches:
        return ""
    rest = normalized[matches[-1].end() :]
    return _BEFORE_VALUE.sub("", rest, count=1).strip(" ,，。.!！")


# Words of a gas emergency: such a message is answered with what to do now, whatever it
# also asks ("楼道里一股臭鸡蛋味儿 是不是漏气了 能开灯不" is no question on the regulations).
# "抢修电话多少" asks for the emergency line, unless a worker was sent to one ("礼拜天被叫去
# 抢修 这加班费咋算的"); "有股味" is how a smell is first noticed.
_GAS_EMERGENCY = re.compile(
    r"漏气|泄漏|燃气味|煤气味|天然气味|臭鸡蛋|着火|冒烟|爆炸|中毒|有股味|一股味|有股怪味"
    r"|(?<!叫去)(?<!派去)(?<!叫我去)(?<!派我去)抢修"
)


def speaks_of_gas_emergency(text: str) -> bool:
    """Whether `text` speaks of leaking gas, smoke or fire."""
    return bool(_GAS_EMERGENCY.search(normalize_chinese(text or "")))


# What someone does or asks right after being told what to do about leaking gas: a step
# done ("火我关了 窗也开了", "阀门拧紧了", "人都出来了") or what comes next ("还要干啥",
# "然后呢", "现在咋办"). Read only while a leak is going on (`actions.emergency`).
_LEAK_STEP = re.compile(
    r"(?:火|阀|闸|气|灶|开关)[门子头]?.{0,3}(?:关|拧|拔)[了好上掉紧住]"
    r"|(?:关|拧)[了好上掉紧]?(?:火|阀|闸|气|灶)"
    r"|开[了好]?.{0,2}窗|窗[户子]?.{0,3}开[了好着]"
    r"|(?:都|人|我们|俺们|我)?(?:出来|跑出来|到外面|在外面|到楼下|在楼下|下楼)了"
    r"|(?:还要|还得|还该|接下来|然后|下一步|现在).{0,3}(?:干啥|干什么|咋办|怎么办|做啥|做什么|咋整|咋弄|呢)"
)
# Words that make such a message a complaint after all ("师傅关了阀就走了 我要投诉").
_COMPLAINS = re.compile(r"投诉|举报|告你们|态度|不管不问|就走了|不理")


def tells_of_leak_steps(text: str) -> bool:
    """Whether `text` tells of a step taken against leaking gas or asks what to do next,
    and is not a complaint."""
    normalized = normalize_chinese(text or "")
    return bool(_LEAK_STEP.search(normalized)) and not _COMPLAINS.search(normalized)


# A strong smell told in a few words ("味儿好冲😰😰", "呛得慌", "闻着有点刺鼻"): an emergency
# when gas is named in the same message or just before ("燃汽", with its usual slips).
_STRONG_SMELL = re.compile(
    r"(?:味|气味|味道|味儿)[儿道]?.{0,3}(?:冲|重|大|浓|呛|难闻|刺鼻|怪|不对)"
    r"|呛[人得鼻]|刺鼻|闻到.{0,6}味|一股.{0,4}味"
)
_GAS_NAMED = re.compile(r"燃气|燃汽|然气|煤气|煤汽|天然气|液化气|气罐|灶|气表")


def may_smell_gas(text: str, earlier: list[str] | tuple[str, ...] = ()) -> bool:
    """Whether `text` speaks of a gas emergency, or of a strong smell with gas named in it
    or in the messages just before (`earlier`, the latest last). Fails closed: a smell
    near the word gas gets what to do now, even when it is not understood otherwise."""
    if speaks_of_gas_emergency(text):
        return True
    normalized = normalize_chinese(text or "")
    if not _STRONG_SMELL.search(normalized):
        return False
    return any(_GAS_NAMED.search(normalize_chinese(said or "")) for said in [*earlier, text])


# Common surnames, the most frequent first: a person is named by one ("小张", "王秀英").
COMMON_SURNAMES = (
    "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤"
)
