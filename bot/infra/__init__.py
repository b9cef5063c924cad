"""Infrastructure: settings, the database and its migrations, caches and stores,
clocks, keys, logging and privacy masking. Knows nothing of any flow.
"""
