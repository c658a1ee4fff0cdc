"""Suggested claims: attribution-cue rules and a model learnt from a project's gold.

Pure code: no Flask, no database. `services/suggestions.py` feeds it documents and stores
what it learns.
"""
