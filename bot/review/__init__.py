"""The operators' review loop: the inbox of unplaced messages, labels, the export."""
