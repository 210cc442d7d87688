"""The reliability suite: large versions of the failure cases ``make test`` keeps small.

Run it with ``make reliability`` (starts and stops the test servers) or, with the servers
running and their env sourced, ``python reliability/run.py --help``. See docs/reliability.md.
"""
