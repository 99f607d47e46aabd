"""The thin seam between the database and the pure ML: load in bulk, call the maths,
write back in bulk. One module per job kind."""
