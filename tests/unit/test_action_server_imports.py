"""What a fresh action server process holds: the modules only some turns need are loaded
by those turns (README, Speed: issue 24)."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.infra.settings import PROJECT_ROOT

LOADED_ON_DEMAND = ("jieba.posseg", "telegram", "jax", "tensorflow", "rasa")


def test_starting_the_action_server_loads_no_module_that_only_some_turns_need():
    code = (
        "import sys\n"
        "import bot.runtime.action_server\n"
        "from rasa_sdk.executor import ActionExecutor\n"
        "ActionExecutor().register_package('actions')\n"
        f"print(' '.join(name for name in {LOADED_ON_DEMAND!r} if name in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
