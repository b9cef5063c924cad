"""Complaints and praise: filing, review, notifications, statistics."""
