"""Scheduling: ``scheduleParams`` rules, schedule arithmetic, window leases, the scheduler
daemon and each flow's backlog. See docs/explanation/scheduling.md."""

#: How long a claimed window is held without a renewal before another scheduler may take it.
LEASE_SECONDS = 120.0
#: How often the scheduler looks for due windows.
POLL_SECONDS = 5.0
