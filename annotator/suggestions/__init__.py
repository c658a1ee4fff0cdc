"""Project-page controls for suggestions: on/off and training (managers)."""
