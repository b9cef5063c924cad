"""Chinese-language service assistant: domain services, data layer, channels and CLI."""

from bot.infra.privacy import install_log_masking

# Every process that loads project code masks personal data in its logs: the Rasa server
# imports the project's NLU components and channels, the action server `actions`.
install_log_masking()
