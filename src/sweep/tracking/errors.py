"""The error the tracking part raises for a store it cannot use; its message is the one line the user sees."""


class StoreError(RuntimeError):
    """The tracking store cannot be reached or used; the message names the variable to fix."""
