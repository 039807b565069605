"""Pages 1 and 2: the trace list (filters, selection, "Evaluate selected") and a trace."""
