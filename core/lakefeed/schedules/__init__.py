"""Schedules as values: ``scheduleParams`` rules, schedule arithmetic (windows) and the clock
they are read against. Pure logic, no database: the scheduler daemon (:mod:`lakefeed.scheduling`)
and the run use cases (:mod:`lakefeed.flows`) both build on it."""
