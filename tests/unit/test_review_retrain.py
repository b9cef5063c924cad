"""The review export re-trains cleanly: after `python -m bot review export` has written
data/nlu/reviewed.yml into a copy of the project, `rasa data validate --fail-on-warnings`
passes and the NLU trains on the data with it (DIET for one epoch: the check is that
Rasa reads and trains on the file, not the model's quality). Exporting again changes
nothing, and a label that repeats an example the training data has is skipped.

Two Rasa processes (validate, train nlu): about 65 s of CPU, 5.5 minutes of wall time on
two cores at a load of 14.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import insert

from bot.analytics.service import EVENTS
from bot.infra.db import create_engine
from bot.infra.migrate import upgrade
from bot.infra.settings import PROJECT_ROOT
from bot.review.export import GAPS_FILE, NLU_FILE, export
from bot.review.service import collect, inbox, label
from tests.unit.test_analytics import NOW, TODAY, Conversation

RASA = Path(sys.executable).with_name("rasa")
LABELS = {
    "燃气表转得飞快,是不是坏了,我电话13912345678": "report_meter_fault",
    "孩纸明儿个不去看护了": "request_leave",
    "先不办了": "deny",  # already a deny example: skipped
}


def _project_copy(root: Path) -> None:
    """domain.yml, the training data and a one-epoch configuration under `root`."""
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    (root / "data" / "nlu" / "reviewed.yml").unlink(missing_ok=True)
    (root / "tests" / "data").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component["epochs"] = 1
    (root / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


def _rasa(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    return subprocess.run(
        [str(RASA), *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_exported_messages_validate_and_train(tmp_path: Path) -> None:
    root = tmp_path / "project"
    _project_copy(root)
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    engine = create_engine(url)
    EVENTS.metadata.create_all(engine)
    talk = Conversation("web:r", "web", TODAY + timedelta(hours=8))
    for text in LABELS:
        talk.user("nlu_fallback", text).action("action_default_ask_affirmation").bot(0.5)
        talk.user("out_of_scope", "/out_of_scope").action("utter_out_of_scope").bot(0.5)
    talk.user("ask_policy", "员工能带宠物上班吗").action("action_answer_policy")
    talk.bot(1.0, "utter_policy_no_answer")
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), talk.rows)
    assert collect(tracker=engine, engine=engine) == 4
    for entry in (e for group in inbox(engine=engine) for e in group):
        intent = next((i for text, i in LABELS.items() if text[:6] in entry.text), "")
        kind = "intent" if intent else "policy_gap"
        label(
            item_id=entry.id, expected_version=entry.version, kind=kind, intent=intent,
            actor="admin:wang", now=NOW, engine=engine,
        )  # fmt: skip

    report = export(root=root, engine=engine)
    written = (root / NLU_FILE).read_bytes()
    assert (report.examples, report.skipped_duplicates, report.policy_gaps) == (2, 1, 1)
    assert export(root=root, engine=engine) == report
    assert (root / NLU_FILE).read_bytes() == written  # idempotent
    text = written.decode("utf-8")
    assert "13912345678" not in text and "我电话1234567" in text
    assert "先不办了" not in text
    assert "员工能带宠物上班吗\tnot covered" in (root / GAPS_FILE).read_text(encoding="utf-8")
    engine.dispose()

    validated = _rasa(root, "data", "validate", "--fail-on-warnings", "--quiet")
    assert validated.returncode == 0, validated.stdout[-3000:] + validated.stderr[-3000:]
    trained = _rasa(
        root, "train", "nlu", "--config", "config.yml", "--nlu", "data/nlu",
        "--out", "models", "--fixed-model-name", "reviewed",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert (root / "models" / "reviewed.tar.gz").is_file()
