"""Rasa custom actions: read slots, call a `bot` service, utter a response."""
