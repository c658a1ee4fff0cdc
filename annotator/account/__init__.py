"""A user's own account: password and API tokens."""
