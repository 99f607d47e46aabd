"""Reading item files: formats (parsing into plain rows) and rows (validating them)."""
