"""One error base class: the CLI catches ``ToolError`` in one place and exits 2."""


class ToolError(Exception):
    """The run could not start or could not go on (exit code 2)."""

    exit_code = 2


class ConfigError(ToolError):
    """The configuration or the command line is unusable."""


class BackupError(ToolError):
    """No usable backup file."""


class DatabaseError(ToolError):
    """The database could not be reached or refused an operation."""


class LockError(ToolError):
    """Another run holds the photo store."""


class PhotoRootError(ToolError):
    """The photo root is missing, unreadable or looks unmounted."""


class ScratchError(ToolError):
    """The temporary file that matching works in could not be created or written (TMPDIR)."""
