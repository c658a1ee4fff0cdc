"""Agreement pages: a project's inter-annotator agreement and one document's annotators
side by side (managers, adjudicators, site admins)."""
