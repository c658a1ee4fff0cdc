"""Domain operations on the database session. Views call these; these never touch requests."""
