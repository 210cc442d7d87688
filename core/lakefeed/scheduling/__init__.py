"""Scheduling: ``scheduleParams`` rules, schedule arithmetic, window leases, the scheduler
daemon and each flow's backlog. See docs/explanation/scheduling.md."""
