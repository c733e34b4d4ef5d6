"""The parameters of the operations on one dataset: the JSON routes, the page's forms and the commands.

The same serializer serves every way to an operation (`foundation.web.parameters`), so a
mistake gets the same answer whichever way it is made. The values are read as given
(`strips_whitespace = False`), as the other services read them: REFERENCE.md gives a blank
`dataset` and an empty one different errors, and a config or split is the name as stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from datasetops.services import ForceRefreshRequest
from foundation.core.processing_graph import processing_graph
from foundation.web.parameters import (
    ArtifactNameParameter,
    ChoiceParameter,
    DatasetNameParameter,
    DatasetNamesParameter,
    Parameters,
    StepParameter,
    TextParameter,
    validated,
)
from jobs.parameters import DifficultyParameter, PriorityParameter


class DatasetParameters(Parameters):
    """GET /admin/dataset-status?dataset="""

    strips_whitespace = False
    dataset = DatasetNameParameter()


class DatasetOperationParameters(DatasetParameters):
    """Recreate, the backfill plan and its apply (JSON routes and forms): the dataset, the jobs' priority."""

    priority = PriorityParameter()


class RecreateFormParameters(DatasetOperationParameters):
    """The recreate form: the name must be typed again, exactly (`confirmation`), or nothing is deleted."""

    confirmation = TextParameter()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["confirmation"] != attrs["dataset"]:
            raise serializers.ValidationError(f"The typed name does not match {attrs['dataset']}: nothing was deleted.")
        return attrs


CONFIG_AND_SPLIT_MISSING = "Parameters 'config' and 'split' are required"
"""The other services' words for a split step given a config or split that is no name (REFERENCE.md);
a missing or blank one is `Parameter 'config' is required` (or 'split')."""


class ForceRefreshParameters(Parameters):
    """POST /admin/force-refresh/{job_type}, its form and command: the artifact of one step, and the job.

    `config` is read for config and split steps, `split` for split steps (a dataset step
    ignores both): the fields follow the step named by `job_type`.
    """

    strips_whitespace = False
    job_type = StepParameter(source="step")
    dataset = DatasetNameParameter()
    config = ArtifactNameParameter()
    split = ArtifactNameParameter(not_text=CONFIG_AND_SPLIT_MISSING)
    priority = PriorityParameter()
    difficulty = DifficultyParameter()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        name = self.initial_data.get("job_type") if hasattr(self, "initial_data") else None
        step = processing_graph().get(name) if isinstance(name, str) else None
        if step is None:  # refused by `job_type`, first: the other fields do not matter
            return fields
        if not step.needs_split:
            del fields["split"]
        else:
            fields["config"] = ArtifactNameParameter(not_text=CONFIG_AND_SPLIT_MISSING)
        if not step.needs_config:
            del fields["config"]
        return fields


def force_refresh_request(values: Mapping[str, object]) -> ForceRefreshRequest:
    """The force-refresh asked by these values (`job_type`, `dataset`, ...); the AdminError of the first bad one."""
    parameters = validated(ForceRefreshParameters, values)
    return ForceRefreshRequest(
        step=parameters["step"],
        dataset=parameters["dataset"],
        config=parameters.get("config"),
        split=parameters.get("split"),
        priority=parameters["priority"],
        difficulty=parameters["difficulty"],
    )


class DatasetPageParameters(Parameters):
    """GET /admin/dataset?dataset=&errors= (no dataset: the search page)"""

    dataset = DatasetNameParameter(default=None)
    errors = ChoiceParameter(choices=("0", "1"))  # type: ignore[assignment]  # a field: DRF takes it off the class


class RecreatePageParameters(Parameters):
    """GET /admin/dataset/recreate?dataset="""

    dataset = DatasetNameParameter()


class DatasetsCommandParameters(Parameters):
    """`recreate_dataset` and `backfill_dataset`: the datasets (arguments, a file) and the jobs' priority."""

    strips_whitespace = False
    datasets = DatasetNamesParameter()
    priority = PriorityParameter()
