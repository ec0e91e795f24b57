"""Pure analysis functions over canonical log frames; each returns a result object."""
