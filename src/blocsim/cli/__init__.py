"""Command-line interface (``blocsim``)."""
