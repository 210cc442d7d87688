"""The scheduler daemon: claims due windows and runs them through :class:`~lakefeed.Lakefeed`.
Schedules themselves (rules, windows, clock) are values in :mod:`lakefeed.schedules`. See
docs/explanation/scheduling.md."""

#: How long a claimed window is held without a renewal before another scheduler may take it.
LEASE_SECONDS = 120.0
#: How often the scheduler looks for due windows.
POLL_SECONDS = 5.0
