"""The control-plane store: connections (and, in later releases, flows, runs, batches)."""
