"""Page 4: evaluation runs (list, a run with live progress, retry, delete) and the form
that starts a run from the trace list."""
