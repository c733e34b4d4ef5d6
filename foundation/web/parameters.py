"""How every parameter is read and checked, whichever way it comes: DRF serializers, and their errors as ours.

A JSON route, a page and a management command all hand a plain dict of what the operator gave
(`request_parameters`, `request.GET.dict()`, the command's options) to the serializer of their
operation, declared with the fields below next to the operation (`<app>/parameters.py`), and
call `validated`. The first bad parameter, in the order the serializer declares its fields,
becomes the AdminError of REFERENCE.md, here and nowhere else (`parameter_error`): a required
one that is missing is 422 MissingRequiredParameter, an unknown kind or job type 404 NotFound,
any other bad value 422 InvalidParameter, each with the words of its field.

Two readings of the text, declared by each serializer (`Parameters.strips_whitespace`):
- by default the values are stripped of surrounding whitespace and a blank one is absent, as
  a search box or a filter is typed by hand;
- the operations on one dataset (status, force-refresh, recreate, backfill) read them as given,
  as the other services do: a blank `dataset` is missing but an empty one is not a valid name,
  and a `config` is the name as stored.
A JSON body may give a number or a boolean where text is expected (`"limit": 10`): it is read
as its text; a list or an object is 422.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, NoReturn

from bson import ObjectId
from bson.errors import InvalidId
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request

from foundation.core.dataset_names import is_valid_dataset_name, is_valid_part
from foundation.core.errors import (
    AdminError,
    InvalidParameterError,
    MissingRequiredParameterError,
    NotFoundError,
)
from foundation.core.processing_graph import ProcessingStep, known_step

NOT_FOUND = "not_found"
"""The error code of a field naming what does not exist (a kind, a job type): a 404."""

_ERRORS_BY_CODE: dict[str, type[AdminError]] = {
    "required": MissingRequiredParameterError,
    NOT_FOUND: NotFoundError,
}

MAX_TEXT_LENGTH = 200
"""Longer filter values (error codes, names) cannot match anything: refused before any query."""


# ---------------------------------------------------------------------------------------------
# The serializer, its sources and its errors


class Parameters(serializers.Serializer[Any]):
    """The parameters of one operation; `validated` reads them."""

    strips_whitespace: ClassVar[bool] = True
    """Strip the text values and drop the blank ones before the fields read them (see the module)."""
    keeps_blank: ClassVar[frozenset[str]] = frozenset()
    """Parameters whose blank value is given, not absent, even when the others are stripped
    (`priority=` is InvalidParameter on every JSON route: its default is for an absent one)."""


def request_parameters(request: Request) -> dict[str, object]:
    """A JSON route's parameters: each from the query string, else from the form or JSON object body.

    A body that is no object (a list, a number) gives none.
    """
    values: dict[str, object] = {}
    body = request.data
    if isinstance(body, QueryDict):
        values.update(body.dict())
    elif isinstance(body, Mapping):
        values.update(body)
    values.update(request.query_params.dict())
    return values


def form_values(form: QueryDict) -> dict[str, object]:
    """A submitted form's values: a blank field is absent (a form sends every field, filled or not).

    So a form's empty `difficulty` or `priority` box means "the default", where the same
    parameter present but empty in a JSON route's query is InvalidParameter (REFERENCE.md).
    """
    return {name: value for name, value in form.items() if isinstance(value, str) and value.strip()}


def _given(values: Mapping[str, object], *, strip: bool, keep_blank: frozenset[str]) -> dict[str, object]:
    """The values given: None is absent; stripped, a blank text is absent too (unless kept)."""
    if strip:
        values = {name: value.strip() if isinstance(value, str) else value for name, value in values.items()}
    return {
        name: value
        for name, value in values.items()
        if value is not None and not (strip and value == "" and name not in keep_blank)
    }


def _first_detail(detail: Any) -> ErrorDetail | str:
    """The first error of a serializer's errors: its fields are in their declared order."""
    while isinstance(detail, Mapping | list):
        detail = next(iter(detail.values())) if isinstance(detail, Mapping) else detail[0]
    return detail  # type: ignore[no-any-return]


def parameter_error(detail: Any) -> AdminError:
    """The AdminError of the first error of `serializer.errors` (or of a DRF ValidationError's detail)."""
    first = _first_detail(detail)
    error_class = _ERRORS_BY_CODE.get(getattr(first, "code", None) or "", InvalidParameterError)
    return error_class(str(first))


def validated(parameters: type[Parameters], values: Mapping[str, object]) -> dict[str, Any]:
    """The checked values of the parameters; raise the AdminError of the first bad one."""
    given = _given(values, strip=parameters.strips_whitespace, keep_blank=parameters.keeps_blank)
    serializer = parameters(data=given)
    if not serializer.is_valid():
        raise parameter_error(serializer.errors)
    return dict(serializer.validated_data)


# ---------------------------------------------------------------------------------------------
# The fields


class Parameter(serializers.Field[Any, Any, Any, Any]):
    """One parameter, read as text. Input only: a parameter is never written back by a serializer.

    Absent or blank, it is `default` (given to the field), or MissingRequiredParameter when the
    field has none: a parameter without a default is required. Otherwise `parse` reads its text.
    Its messages may name the parameter as `{name}` (the field's name).
    """

    default_error_messages: ClassVar[dict[str, Any]] = {
        "required": "Parameter '{name}' is required",
        "type": "Parameter '{name}' should be a string or a number.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.default_value = kwargs.get("default")

    def fail(self, key: str, **kwargs: Any) -> NoReturn:
        super().fail(key, name=self.field_name, **kwargs)

    def text(self, data: object) -> str:
        """A string as it is; a JSON body's number or boolean as its text; anything else is 422."""
        if isinstance(data, str):
            return data
        if isinstance(data, bool):
            return "true" if data else "false"
        if isinstance(data, int | float):
            return str(data)
        self.fail("type")

    def to_internal_value(self, data: object) -> Any:
        text = self.text(data)
        if not text.strip():
            if self.required:
                self.fail("required")
            return self.default_value
        return self.parse(text)

    def parse(self, text: str) -> Any:
        """The value of a text that is not blank; `self.fail(key)` when it is not one."""
        return text

    def to_representation(self, value: Any) -> Any:
        return value


class TextParameter(Parameter):
    """Free text (an error code, an exception name) of at most `max_length` characters; blank is None."""

    default_error_messages: ClassVar[dict[str, Any]] = {"too_long": "Parameter '{name}' is too long"}

    def __init__(self, *, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(default=None, **kwargs)
        self.max_length = max_length

    def parse(self, text: str) -> str:
        if self.max_length is not None and len(text) > self.max_length:
            self.fail("too_long")
        return text


class PresenceParameter(Parameter):
    """A flag set by any value (`?root_only=1`, a checkbox): present is True, absent or blank False."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default=False, **kwargs)

    def parse(self, text: str) -> bool:
        return True


class ChoiceParameter(Parameter):
    """One of a few words (`choices`, or a function giving them); blank is the default (None unless given)."""

    default_error_messages: ClassVar[dict[str, Any]] = {"choice": "Parameter '{name}' must be one of: {choices}"}

    def __init__(
        self, *, choices: Sequence[str] | Callable[[], Sequence[str]], default: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(default=default, **kwargs)
        self.choices = choices

    def parse(self, text: str) -> str:
        choices = self.choices() if callable(self.choices) else self.choices
        if text not in choices:
            self.fail("choice", choices=", ".join(choices))
        return text


INT_VALUE_MESSAGE = "Parameter '{name}' should be an int value between {minimum} and {maximum}."
"""The other services' words for a number out of its range (JSON routes and their forms)."""
INTEGER_MESSAGE = "Parameter '{name}' must be an integer between {minimum} and {maximum}"
"""The pages' words for the numbers of their filters and pagers."""
_DIGITS = re.compile(r"[0-9]{1,9}")


class IntegerParameter(Parameter):
    """A whole number in minimum..maximum, written in digits; blank is the default (None unless given)."""

    def __init__(
        self, *, minimum: int, maximum: int, message: str = INT_VALUE_MESSAGE, default: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(default=default, **kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.error_messages["range"] = message

    def parse(self, text: str) -> int:
        text = text.strip()
        if _DIGITS.fullmatch(text) is None or not self.minimum <= int(text) <= self.maximum:
            self.fail("range", minimum=self.minimum, maximum=self.maximum)
        return int(text)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class FlagParameter(Parameter):
    """1/true/yes/on or 0/false/no/off (any case); blank is `default`."""

    default_error_messages: ClassVar[dict[str, Any]] = {"flag": "Parameter '{name}' should be true or false."}

    def __init__(self, *, default: bool, **kwargs: Any) -> None:
        super().__init__(default=default, **kwargs)

    def parse(self, text: str) -> bool:
        word = text.strip().lower()
        if word not in _TRUE and word not in _FALSE:
            self.fail("flag")
        return word in _TRUE


class DateTimeParameter(Parameter):
    """An ISO 8601 date or datetime (`2024-05-01`, `2024-05-01T12:00:00`, `...+02:00`); naive is UTC; blank is None."""

    default_error_messages: ClassVar[dict[str, Any]] = {
        "datetime": "Parameter '{name}' should be an ISO 8601 datetime, e.g. 2024-05-01T12:00:00.",
        "range": "Parameter '{name}' should be a datetime between 0001-01-01 and 9999-12-31T23:59:59.999999 in UTC.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default=None, **kwargs)

    def parse(self, text: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            self.fail("datetime")
        try:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC, 9999-12-31T23:59-01:00 after 9999
            self.fail("range")


class ObjectIdParameter(Parameter):
    """A MongoDB `_id` as its 24 hex digits: a cursor (the `_id` of the last entry of a page) by default.

    Blank is None (a cursor: the first page), unless declared `required=True` (an entry's id).
    """

    default_error_messages: ClassVar[dict[str, Any]] = {"invalid": "Invalid cursor."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**(kwargs if kwargs.get("required") is True else {"default": None, **kwargs}))

    def parse(self, text: str) -> ObjectId:
        try:
            return ObjectId(text)
        except (InvalidId, TypeError):
            self.fail("invalid")


class DatasetNameParameter(Parameter):
    """A dataset name, checked as the Hub names repos before it reaches the Hub, a query or a path.

    REFERENCE.md: absent or blank (`?dataset=`, `?dataset=%20`) is MissingRequiredParameter, as
    the other services answer it; a name that is present but not valid (`../x`, `a/b/c`, a number
    in a JSON body) is InvalidParameter. Optional (a page's filter, `default=None`): absent is None.
    """

    default_error_messages: ClassVar[dict[str, Any]] = {"invalid": "Parameter '{name}' is not a valid dataset name"}

    def to_internal_value(self, data: object) -> str:
        if isinstance(data, str) and not data.strip():
            self.fail("required")
        if not isinstance(data, str) or not is_valid_dataset_name(data):
            self.fail("invalid")
        return data


class DatasetNamesParameter(Parameter):
    """The dataset names of a command (its arguments, a file): each once, in order, every one checked.

    Any invalid name stops the command before anything is done, and all of them are named.
    """

    default_error_messages: ClassVar[dict[str, Any]] = {
        "invalid": "invalid dataset name(s), nothing done: {names}",
        "empty": "no dataset given",
    }

    def to_internal_value(self, data: object) -> list[str]:
        if not isinstance(data, list) or not all(isinstance(name, str) for name in data):
            self.fail("type")
        datasets = list(dict.fromkeys(data))
        invalid = [name for name in datasets if not is_valid_dataset_name(name)]
        if invalid:
            self.fail("invalid", names=", ".join(repr(name[:100]) for name in invalid))
        if not datasets:
            self.fail("empty")
        return datasets


class ArtifactNameParameter(Parameter):
    """A config or split name as stored: any text that is not blank, kept as written. Required.

    Missing or blank, it is `Parameter '{name}' is required` (the other services' words);
    `not_text` is what a value that is no text (a list in a JSON body) is answered.
    """

    def __init__(self, *, not_text: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.not_text = not_text

    def to_internal_value(self, data: object) -> Any:
        if not isinstance(data, str) and self.not_text is not None:
            raise serializers.ValidationError(self.not_text, code="required")  # their code for it
        return super().to_internal_value(data)


class NamespaceParameter(Parameter):
    """The namespace of datasets (`org` of `org/ds`); blank is None."""

    default_error_messages: ClassVar[dict[str, Any]] = {"invalid": "Parameter '{name}' is not a valid namespace"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default=None, **kwargs)

    def parse(self, text: str) -> str:
        if not is_valid_part(text):
            self.fail("invalid")
        return text


class StepParameter(Parameter):
    """A processing step by name (a kind, a job type): an unknown one is a 404, as its route does not exist.

    Required unless `default=None` is given (then blank or absent is None).
    """

    def parse(self, text: str) -> ProcessingStep:
        try:
            return known_step(text)
        except NotFoundError as error:
            raise serializers.ValidationError(error.message, code=NOT_FOUND) from None
