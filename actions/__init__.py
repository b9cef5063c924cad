"""Rasa custom actions: read slots, call a `bot` service, utter a response."""

from bot.infra.privacy import install_log_masking

# The action server's logs (rasa_sdk's and sanic's included) never show personal data.
install_log_masking()

# The forms answer a question asked aside as it is answered outside a form; the answers
# are other actions of the flows' modules, which import actions.forms, so they are
# handed to it here rather than imported by it (no import cycle).
from actions.asides import answer as _answer_aside  # noqa: E402
from actions.forms import answer_asides_with  # noqa: E402

answer_asides_with(_answer_aside)
