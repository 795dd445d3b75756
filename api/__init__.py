"""polyboard read API."""
