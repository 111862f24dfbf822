"""Export schedules: recurring exports made by beat, each run an ordinary export job that
names its schedule (docs/schedules.md)."""
