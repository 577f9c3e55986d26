"""A handler module whose own import fails: the runner must refuse to start."""

import a_module_that_is_not_installed  # type: ignore[import-not-found]  # noqa: F401


def lambda_handler(event: object, context: object) -> None:
    return None
