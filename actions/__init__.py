"""Rasa custom actions: read slots, call a `bot` service, utter a response."""

from bot.privacy import install_log_masking

# The action server's logs (rasa_sdk's and sanic's included) never show personal data.
install_log_masking()
