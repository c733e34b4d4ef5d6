"""DRF's JSON parser, with a nesting too deep for Python's decoder taken as what it is: bad input.

`json.loads` raises RecursionError on `[[[[...` nested some thousands deep; DRF only turns
ValueError into a ParseError, so JSON nested 100,000 deep was a 500. Here it is a ParseError
(422 InvalidParameter, "The request body could not be parsed.").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deep") from None
