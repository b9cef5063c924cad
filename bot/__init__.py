"""Chinese-language service assistant: domain services, data layer, channels and CLI."""
