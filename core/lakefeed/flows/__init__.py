"""Flows: plan which files a run takes, convert and commit them, record what happened."""
