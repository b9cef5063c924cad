"""The running assistant's servers: Rasa with the project's channels, the guarded
action server, and the terminal chat client.
"""
