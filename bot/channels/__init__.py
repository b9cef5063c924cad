"""Bridges between messaging platforms and the assistant's Rasa server."""
