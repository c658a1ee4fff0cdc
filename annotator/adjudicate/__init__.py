"""Adjudication pages: the review queue and a document's review, settling gold claims."""
