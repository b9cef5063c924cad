"""Operators' figures computed from Rasa's tracker store (`python -m bot analytics`)."""
