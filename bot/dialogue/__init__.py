"""Dialogue policies of the project's own (config.yml `policies`)."""
