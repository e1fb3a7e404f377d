"""The one error of the load-test tools: something could not be checked (exit 2 with its message)."""


class LoadtestError(Exception):
    """Bad input or a tool that could not run: the message says what was wrong and what is allowed."""
