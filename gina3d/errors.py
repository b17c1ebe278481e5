"""The one exception type that the CLI turns into a one-line message and a non-zero exit."""


class Gina3dError(Exception):
    """A user-facing error: bad input, a missing or corrupt file, an invalid option.

    The message must say what is wrong and where (a path, a field, an option), in one line.
    """
