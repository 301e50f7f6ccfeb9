class ConfigError(Exception):
    """A context value the app cannot be built from.

    The message always names the context key and what it accepts, so app.py can
    print it as one line and exit without a traceback.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"context key '{key}': {problem}")
        self.key = key
