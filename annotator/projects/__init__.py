"""Project pages: the list, one project's documents, import and export."""
