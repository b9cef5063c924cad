"""A person takes over a conversation (转人工): the queue, the desk's steps, notifications."""
