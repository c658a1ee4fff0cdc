"""Pages of propositions (a timeline of the claims stating each) and incidents."""
