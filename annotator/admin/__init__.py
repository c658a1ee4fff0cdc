"""Site administration pages (site admins only)."""
