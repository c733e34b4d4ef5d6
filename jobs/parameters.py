"""The parameters of the queue: a job's priority and difficulty (every write), and the job list's filters.

Fields and serializers of `foundation.web.parameters`, with the other services' words for a
bad priority or difficulty (REFERENCE.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

from foundation.core.processing_graph import processing_graph
from foundation.web.parameters import (
    INTEGER_MESSAGE,
    ChoiceParameter,
    DatasetNameParameter,
    IntegerParameter,
    NamespaceParameter,
    Parameter,
    Parameters,
)
from jobs.constants import DEFAULT_PRIORITY, PENDING_STATUSES, Priority
from jobs.difficulty import MAX_DIFFICULTY
from jobs.selectors import JOB_SORTS, WORKER_SIZES

DIFFICULTY_MESSAGE = f"Parameter 'difficulty' should be an int value between 0 and {MAX_DIFFICULTY}."
PRIORITY_MESSAGE = (
    f"Parameter 'priority' should be one of {', '.join(priority.value for priority in reversed(Priority))}."
)
"""The other services' words: `high, normal, low`."""


class PresentMeansGiven(Parameter):
    """A parameter whose default applies only when it is absent: present but empty or blank, it is
    invalid (REFERENCE.md: `priority=` and `difficulty=` are 422 InvalidParameter). The pages and
    the filters that strip their values drop a blank one before it gets here: there it is absent."""

    def to_internal_value(self, data: object) -> Any:
        if isinstance(data, str) and not data.strip():
            self.fail("invalid")
        return super().to_internal_value(data)


class PriorityParameter(PresentMeansGiven):
    """The priority of the jobs a write creates: `low` (when absent), `normal` or `high`."""

    default_error_messages: ClassVar[dict[str, Any]] = {"invalid": PRIORITY_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default=DEFAULT_PRIORITY, **kwargs)

    def parse(self, text: str) -> Priority:
        try:
            return Priority(text)
        except ValueError:
            self.fail("invalid")


class DifficultyParameter(PresentMeansGiven):
    """An int 0..100 as Python's `int()` reads it (`+7`, ` 7 `), as the other services parse it.

    None when absent: the step's own difficulty.
    """

    default_error_messages: ClassVar[dict[str, Any]] = {"invalid": DIFFICULTY_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default=None, **kwargs)

    def parse(self, text: str) -> int:
        try:
            difficulty = int(text)
        except ValueError:
            self.fail("invalid")
        if not 0 <= difficulty <= MAX_DIFFICULTY:
            self.fail("invalid")
        return difficulty


MAX_PAGE = 100_000
DEFAULT_SORT = "created_at"


class JobsPageParameters(Parameters):
    """GET /admin/jobs?stale=&type=&status=&priority=&dataset=&namespace=&worker_size=&sort=&page="""

    stale = ChoiceParameter(choices=("0", "1"))
    type = ChoiceParameter(choices=lambda: processing_graph().names)
    status = ChoiceParameter(choices=PENDING_STATUSES)
    priority = ChoiceParameter(choices=[priority.value for priority in reversed(Priority)])
    dataset = DatasetNameParameter(default=None)
    namespace = NamespaceParameter()
    worker_size = ChoiceParameter(choices=WORKER_SIZES)
    sort = ChoiceParameter(choices=list(JOB_SORTS), default=DEFAULT_SORT)
    page = IntegerParameter(minimum=1, maximum=MAX_PAGE, message=INTEGER_MESSAGE, default=1)
