"""The checks of an operator's parameters, wherever they come from (JSON route, page, command).

One place for each check, so that a mistake gets the same message and error code whichever
way the operator made it.
"""

from __future__ import annotations

from foundation.core.dataset_names import is_valid_dataset_name
from foundation.core.errors import InvalidParameterError, MissingRequiredParameterError


def required_value(name: str, value: object) -> str:
    """`value` when it is a non-blank string; else MissingRequiredParameter naming the parameter."""
    if not isinstance(value, str) or not value.strip():
        raise MissingRequiredParameterError(f"Parameter '{name}' is required")
    return value


def dataset_value(value: object) -> str:
    """A dataset name, checked as the Hub names repos before it is used anywhere.

    Absent or blank (`?dataset=`, `?dataset=%20`) is MissingRequiredParameter, as the other
    services answer it; a name that is present but not one the Hub could give (`../x`,
    `a/b/c`, a number in a JSON body) is InvalidParameter.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MissingRequiredParameterError("Parameter 'dataset' is required")
    if not isinstance(value, str) or not is_valid_dataset_name(value):
        raise InvalidParameterError("Parameter 'dataset' is not a valid dataset name")
    return value
