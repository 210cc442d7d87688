"""The control-plane store: one store per aggregate (connections, flows, runs, batches, the file
ledger, rejected rows, windows, backlog, datasets, schema documents, API clients), each scoped
to one org and sandbox and answering typed frozen records. The only package that speaks SQL."""
