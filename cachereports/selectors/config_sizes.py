"""The sizes of configs and splits (`config-info` entries), which decide the big-dataset bonus difficulty."""

from __future__ import annotations

from dataclasses import dataclass

from cachereports.constants import CONFIG_INFO_KIND
from foundation.database import mongo


def _num_bytes(content: object, split: str | None) -> int | None:
    """The config's size (`dataset_info.dataset_size`), or one split's, from a `config-info` content."""
    dataset_info = content.get("dataset_info") if isinstance(content, dict) else None
    if not isinstance(dataset_info, dict):
        return None
    if split is None:
        num_bytes = dataset_info.get("dataset_size")
    else:
        splits = dataset_info.get("splits")
        split_info = splits.get(split) if isinstance(splits, dict) else None
        num_bytes = split_info.get("num_bytes") if isinstance(split_info, dict) else None
    return num_bytes if isinstance(num_bytes, int) and not isinstance(num_bytes, bool) else None


_CONFIG_INFO_SIZES = {"content.dataset_info.dataset_size": 1, "content.dataset_info.splits": 1}


def config_num_bytes(*, dataset: str, config: str, split: str | None) -> int | None:
    """The size upstream reads for the bonus: the config's, or one split's, from its `config-info` entry."""
    entry = mongo.cache_database()[mongo.CACHED_RESPONSES].find_one(
        {"kind": CONFIG_INFO_KIND, "dataset": dataset, "config": config, "split": None}, _CONFIG_INFO_SIZES
    )
    return _num_bytes(entry.get("content") if entry else None, split)


@dataclass(frozen=True)
class ConfigSizes:
    """The `config-info` sizes of several datasets, read at once (the bonus of a batch of jobs)."""

    contents: dict[tuple[str, str], object]

    def num_bytes(self, *, dataset: str, config: str, split: str | None) -> int | None:
        return _num_bytes(self.contents.get((dataset, config)), split)


def config_sizes(*, datasets: list[str]) -> ConfigSizes:
    """One find of the `config-info` entries of these datasets (index kind, dataset, config, split)."""
    if not datasets:
        return ConfigSizes({})
    found = mongo.cache_database()[mongo.CACHED_RESPONSES].find(
        {"kind": CONFIG_INFO_KIND, "dataset": {"$in": datasets}},
        {"dataset": 1, "config": 1, **_CONFIG_INFO_SIZES},
    )
    return ConfigSizes(
        {
            (str(entry["dataset"]), str(entry["config"])): entry.get("content")
            for entry in found.batch_size(mongo.WHOLE_RESULT_BATCH_SIZE)
            if isinstance(entry.get("config"), str)
        }
    )
