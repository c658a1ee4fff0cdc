"""The JSON API under /api/v1: used by the annotation page and by users' scripts."""
