"""The one exception type latentlab raises for bad input, so callers and the CLI can catch it."""


class LatentLabError(Exception):
    """A problem with the user's input (file, field, value), with a message that names it."""
