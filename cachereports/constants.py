"""The cache kinds and builder names the console reads by name (the other services define them too)."""

from __future__ import annotations

BUILDER_NAMES = ("parquet", "csv", "text", "imagefolder", "audiofolder", "json", "arrow", "webdataset")
"""The builder names counted one by one; every other builder (or none) counts as "other"."""


DATASET_INFO_KIND = "dataset-info"


CONFIG_INFO_KIND = "config-info"
"""The cache kind whose `content.dataset_info` gives the size of a config and of its splits."""


CONFIG_NAMES_KIND = "dataset-config-names"
"""Its `content.config_names[].config` lists the configs of a dataset."""


SPLIT_NAMES_KIND = "config-split-names"
"""Its `content.splits[].split` lists the splits of a config."""
