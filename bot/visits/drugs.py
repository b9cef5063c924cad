"""The drug table behind 服务管理制度6 item 3: which drugs are not given at home, and why.

Drugs are found in free text by name or synonym ("医生开的頭孢曲松钠" -> 注射用头孢曲松钠),
longest name first, after NFKC, traditional-to-simplified and whitespace normalisation. A
drug the table does not know is None, never an ordinary drug.

`DrugCatalogue.read` also says what else the text names: whatever is left once the known
names, the everyday words around them ("医生开了", "两瓶", "一起打") and the separators
("和", "、", "+", "加") are taken out is an unknown drug, for the pharmacist. Anything the
reader cannot place counts as a drug: a word it does not know is never dropped.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.infra.settings import PROJECT_ROOT
from bot.reading import normalize_chinese, words

DRUGS_PATH = PROJECT_ROOT / "data" / "demo" / "drugs.yml"


_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_SPACE = re.compile(r"\s+")
# In Zhejiang "挂盐水" means any drip, not saline: it names no drug.
_DRIP_WORDS = ("挂盐水", "打盐水", "吊盐水", "输盐水")
# Words around drug names that name no drug, longest first in the pattern. Kept short and
# specific: a word missing here makes a drug "unknown" (the pharmacist looks), a word
# wrongly here could hide one, so nothing that could be part of a drug name belongs.
_FILLER_WORDS = sorted(
    words(
        """
    医生 大夫 护士 开了 开的 开给 开具 给开 医嘱 处方 上面写 写的 输液 点滴 吊瓶 吊水 挂水 打水
    打针 针剂 注射液 注射用 静脉 静滴 滴注 一起 一块儿 一块 同时 混合 混着 配着 配上 加上 还有
    以及 另外 然后 再加 就是 应该 好像 大概 可能 需要 我们 我妈 我爸 我家 老人家 老人 患者 病人
    妈妈 爸爸 奶奶 爷爷 外婆 外公 老伴 家里 在家 上门 每天 每日 疗程 连续 左右 剂量 毫升 毫克
    单位 医院 中心 社区 外院 药房 药店 药品 药物 名字 名称 什么 是什么 不知道 不清楚 记不得 忘了
    就这些 就这样 就这么 没有了 没有 没了 别的 其他 其它 这些 这个 那个 一种 一样 只有 就这 都是
    也是 要打 要输 要挂 想打 想输 预约 帮忙 麻烦 你好 您好 谢谢 请问 可以 能不能 上午 下午 明天
    今天 后天 第一人民医院 第二人民医院 人民医院 中医院 中心医院 附属医院 大医院 市医院
    县医院 区医院 省医院 卫生院 诊所 门诊 急诊 住院部 住院 出院 带回来 带回家 拿回来 开回来
    """
    ),
    key=len,
    reverse=True,
)
_FILLER = re.compile("|".join(re.escape(word) for word in _FILLER_WORDS))
# Amounts and counts: "0.9%", "250ml", "两瓶", "每天一次", "3天".
_AMOUNT = re.compile(
    r"[0-9.]+\s*(?:%|ml|mg|g|iu|u|毫升|毫克|克|支|瓶|袋|次|天|个|周|盒)?"
    r"|[一二两三四五六七八九十半几]+\s*(?:瓶|袋|支|次|天|个|周|盒|种|样|针)"
)
# Single characters that carry no drug name between the names: particles, verbs of
# giving a drip, measure words.
_IGNORABLE = frozenset(
    "的了是药针水瓶支袋次天个也还就都和跟与及加又再在给打输挂吊用开要有点滴吧呢啊哦嗯呀么吗"
    "那这些一两每各另外并同把从被叫啥她他它我你您说请帮让省市县区"
)
_SALTS = frozenset("钠钾")
_SEPARATOR = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")


class DrugCategory(str, enum.Enum):
    SKIN_TEST_REQUIRED = "skin_test_required"
    TCM_INJECTION = "tcm_injection"
    BIOLOGIC = "biologic"
    ADVERSE_REACTION_PRONE = "adverse_reaction_prone"
    ALLERGY_WARNING = "allergy_warning"
    ORDINARY = "ordinary"


class DrugTableError(ValueError):
    """drugs.yml is not as expected."""


@dataclass(frozen=True)
class DrugReading:
    """What a text says about drugs: the ones the table knows, in reading order, and the
    words the reader could not place (each an unknown drug for the pharmacist)."""

    known: tuple[Drug, ...]
    unknown: tuple[str, ...]

    @property
    def names_nothing(self) -> bool:
        return not self.known and not self.unknown


@dataclass(frozen=True)
class Drug:
    name: str
    synonyms: tuple[str, ...]
    categories: frozenset[DrugCategory]
    note: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)


def normalize_drug_text(text: str) -> str:
    """Simplified characters, half-width forms, lower case, no whitespace."""
    return _SPACE.sub("", normalize_chinese(text or "")).lower()


class DrugCatalogue:
    """Drugs by every name they go by; raises DrugTableError on a name used twice."""

    def __init__(self, drugs: Iterable[Drug]) -> None:
        self.drugs = tuple(drugs)
        self._by_name: dict[str, Drug] = {}
        for drug in self.drugs:
            if not drug.categories:
                raise DrugTableError(f"{drug.name}: no category")
            if DrugCategory.ORDINARY in drug.categories and len(drug.categories) > 1:
                raise DrugTableError(f"{drug.name}: ordinary cannot go with another category")
            for name in drug.names:
                key = normalize_drug_text(name)
                if not key or key in self._by_name:
                    raise DrugTableError(f"{drug.name}: name {name!r} is empty or used twice")
                self._by_name[key] = drug
        self._longest_first = sorted(self._by_name, key=len, reverse=True)

    def find_all(self, text: str) -> tuple[Drug, ...]:
        """Every drug the text names, in reading order, each once; at each place the
        longest name wins ("复方丹参注射液" is not "丹参")."""
        return self.read(text).known

    def read(self, text: str) -> DrugReading:
        """The known drugs the text names and the unknown words left between them, in any
        order and with any separator: "葡萄糖加阿莫西林", "A和B", "A、B", "A+B", "A 以及 B"."""
        normalized = normalize_drug_text(text)
        for drip in _DRIP_WORDS:
            normalized = normalized.replace(drip, " ")
        found: list[Drug] = []
        rest: list[str] = []
        start = 0
        while start < len(normalized):
            key = next((k for k in self._longest_first if normalized.startswith(k, start)), None)
            if key is None:
                rest.append(normalized[start])
                start += 1
                continue
            drug = self._by_name[key]
            if drug not in found:
                found.append(drug)
            rest.append(" ")
            start += len(key)
            # The salt a name leaves out ("奥美拉唑" + "钠" of 注射用奥美拉唑钠) belongs to it;
            # any other salt ("葡萄糖加钾") is read on as a word of its own.
            while start < len(normalized) and normalized[start] in _SALTS:
                if normalized[start] not in drug.name:
                    break
                start += 1
        return DrugReading(known=tuple(found), unknown=_unknown_words("".join(rest)))

    def find(self, text: str) -> Drug | None:
        """The first drug the text names, or None for a drug the table does not know."""
        found = self.find_all(text)
        return found[0] if found else None


def _unknown_words(rest: str) -> tuple[str, ...]:
    """The pieces of `rest` (a text with the known names blanked out) that may name a
    drug: everything but filler words, amounts, separators and single particles."""
    rest = _AMOUNT.sub(" ", _FILLER.sub(" ", rest))
    words: list[str] = []
    for piece in _SEPARATOR.split(rest):
        word = piece.strip("".join(_IGNORABLE))
        if word and any(ch not in _IGNORABLE for ch in word) and word not in words:
            words.append(word)
    return tuple(words)


def load_drugs(path: Path = DRUGS_PATH) -> DrugCatalogue:
    with path.open(encoding="utf-8") as handle:
        rows = yaml.safe_load(handle)["drugs"]
    drugs = []
    for row in rows:
        try:
            categories = frozenset(DrugCategory(value) for value in row["categories"])
        except ValueError as exc:
            raise DrugTableError(f"{row['name']}: {exc}") from exc
        drugs.append(
            Drug(
                name=str(row["name"]),
                synonyms=tuple(str(synonym) for synonym in row.get("synonyms") or ()),
                categories=categories,
                note=str(row.get("note") or ""),
            )
        )
    return DrugCatalogue(drugs)


@lru_cache(maxsize=1)
def default_catalogue() -> DrugCatalogue:
    return load_drugs()


def find_drug(text: str, catalogue: DrugCatalogue | None = None) -> Drug | None:
    """The first drug `text` names, from the demo table unless a catalogue is given."""
    return (catalogue or default_catalogue()).find(text)
