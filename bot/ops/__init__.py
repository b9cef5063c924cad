"""Operations: seeding, backups, retention, data operations, the development
launcher, health checks and the benchmark; run from the command line.
"""
