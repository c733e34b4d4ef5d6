"""Configuration: every variable parsed once into typed settings; a bad value stops start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from foundation.core.config import ConfigError, load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_those_of_the_reference():
    config = load_config({})
    assert config.hf_organization is None
    assert config.cache_reports_num_results == 100
    assert config.cache_reports_with_content_num_results == 100
    assert config.hf_timeout_seconds == 0.2
    assert config.hf_whoami_path == "/api/whoami-v2"
    assert config.max_age == 10
    assert config.auth_cache_seconds == 10
    assert (config.uvicorn_hostname, config.uvicorn_num_workers, config.uvicorn_port) == ("localhost", 2, 8000)
    assert config.prometheus_multiproc_dir is None
    assert config.hf_endpoint == "https://huggingface.co"
    assert config.hf_token is None
    assert config.blocked_datasets.patterns == ()
    assert (config.cache_mongo_url, config.cache_mongo_database) == (
        "mongodb://localhost:27017",
        "dataset_viewer_cache",
    )
    assert (config.queue_mongo_url, config.queue_mongo_database) == (
        "mongodb://localhost:27017",
        "dataset_viewer_queue",
    )
    assert config.log_level == "INFO"
    assert config.assets_storage_root == Path("/storage/assets")
    assert config.cached_assets_storage_root == Path("/storage/cached-assets")
    assert config.parquet_metadata_storage_directory is None
    assert config.stale_job_seconds == 300
    assert (config.activity_sample_seconds, config.activity_retention_days) == (60, 14)


def test_values_are_parsed_into_types():
    config = load_config(
        {
            "ADMIN_HF_ORGANIZATION": "huggingface",
            "ADMIN_CACHE_REPORTS_NUM_RESULTS": "7",
            "ADMIN_CACHE_REPORTS_WITH_CONTENT_NUM_RESULTS": " 3 ",
            "ADMIN_HF_TIMEOUT_SECONDS": "1.5",
            "ADMIN_MAX_AGE": "0",
            "ADMIN_UVICORN_PORT": "9000",
            "COMMON_HF_ENDPOINT": "http://127.0.0.1:1234/",
            "COMMON_HF_TOKEN": "hf_secret",
            "COMMON_BLOCKED_DATASETS": "org/*, squad",
            "CACHE_MONGO_URL": "mongodb://user:pass@db1:27017,db2:27017/?replicaSet=rs0",
            "QUEUE_MONGO_DATABASE": "queue",
            "LOG_LEVEL": "debug",
            "PARQUET_METADATA_STORAGE_DIRECTORY": "/tmp/pm",
            "ADMIN_STALE_JOB_SECONDS": "120",
            "ADMIN_ACTIVITY_SAMPLE_SECONDS": "300",
            "ADMIN_ACTIVITY_RETENTION_DAYS": "30",
        }
    )
    assert config.stale_job_seconds == 120
    assert (config.activity_sample_seconds, config.activity_retention_days) == (300, 30)
    assert config.hf_organization == "huggingface"
    assert config.cache_reports_num_results == 7
    assert config.cache_reports_with_content_num_results == 3
    assert config.hf_timeout_seconds == 1.5
    assert config.max_age == 0
    assert config.uvicorn_port == 9000
    assert config.hf_endpoint == "http://127.0.0.1:1234"
    assert config.hf_token == "hf_secret"
    assert config.blocked_datasets.matches("org/anything") and config.blocked_datasets.matches("squad")
    assert not config.blocked_datasets.matches("other/squad")
    assert config.cache_mongo_url == "mongodb://user:pass@db1:27017,db2:27017/?replicaSet=rs0"
    assert config.queue_mongo_database == "queue"
    assert config.log_level == "DEBUG"
    assert config.parquet_metadata_storage_directory == Path("/tmp/pm")


def test_empty_values_mean_the_default():
    config = load_config({"ADMIN_MAX_AGE": "", "ADMIN_HF_ORGANIZATION": "  ", "LOG_LEVEL": ""})
    assert (config.max_age, config.hf_organization, config.log_level) == (10, None, "INFO")


BAD_VALUES = [
    ("ADMIN_CACHE_REPORTS_NUM_RESULTS", "ten", "expected an integer"),
    ("ADMIN_CACHE_REPORTS_NUM_RESULTS", "-5", "expected an integer >= 1"),
    ("ADMIN_CACHE_REPORTS_NUM_RESULTS", "0", "expected an integer >= 1"),
    ("ADMIN_CACHE_REPORTS_WITH_CONTENT_NUM_RESULTS", "1.5", "expected an integer"),
    ("ADMIN_MAX_AGE", "-1", "expected an integer >= 0"),
    ("ADMIN_MAX_AGE", "1_000", "expected an integer"),
    ("ADMIN_MAX_AGE", "9" * 5000, "expected an integer"),
    ("ADMIN_AUTH_CACHE_SECONDS", "soon", "expected an integer"),
    ("ADMIN_HF_TIMEOUT_SECONDS", "0", "expected a positive number of seconds"),
    ("ADMIN_HF_TIMEOUT_SECONDS", "nan", "expected a positive number of seconds"),
    ("ADMIN_HF_TIMEOUT_SECONDS", "fast", "expected a number of seconds"),
    ("ADMIN_HF_WHOAMI_PATH", "api/whoami", "expected a path starting with '/'"),
    ("ADMIN_UVICORN_NUM_WORKERS", "0", "expected an integer >= 1"),
    ("ADMIN_STALE_JOB_SECONDS", "0", "expected an integer >= 1"),
    ("ADMIN_STALE_JOB_SECONDS", "5m", "expected an integer, got '5m'"),
    ("ADMIN_ACTIVITY_SAMPLE_SECONDS", "1m", "expected an integer, got '1m'"),
    ("ADMIN_ACTIVITY_SAMPLE_SECONDS", "5", "expected an integer between 10 and 3600, got '5'"),
    ("ADMIN_ACTIVITY_SAMPLE_SECONDS", "86400", "expected an integer between 10 and 3600, got '86400'"),
    ("ADMIN_ACTIVITY_RETENTION_DAYS", "0", "expected an integer between 1 and 3650, got '0'"),
    ("ADMIN_ACTIVITY_RETENTION_DAYS", "two weeks", "expected an integer, got 'two weeks'"),
    ("ADMIN_UVICORN_PORT", "70000", "expected an integer between 0 and 65535"),
    ("COMMON_HF_ENDPOINT", "huggingface.co", "expected a URL starting with http or https://"),
    ("COMMON_BLOCKED_DATASETS", "*/x", "has a wildcard in the namespace"),
    ("COMMON_BLOCKED_DATASETS", "a/b/c", "has more than one '/'"),
    ("CACHE_MONGO_URL", "localhost:27017", "expected a URL starting with mongodb://"),
    ("QUEUE_MONGO_URL", "mongodb://h:99999", "expected a valid MongoDB connection string"),
    ("CACHE_MONGO_DATABASE", "my.cache", "expected a MongoDB database name"),
    ("QUEUE_MONGO_DATABASE", "a" * 64, "expected a MongoDB database name"),
    ("LOG_LEVEL", "verbose", "expected one of CRITICAL, FATAL, ERROR, WARN, WARNING, INFO, DEBUG, NOTSET"),
]


@pytest.mark.parametrize(("variable", "value", "expected"), BAD_VALUES)
def test_load_config_names_the_bad_variable(variable, value, expected):
    with pytest.raises(ConfigError) as raised:
        load_config({variable: value})
    message = str(raised.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message


def test_a_bad_mongo_url_is_never_echoed_with_its_password():
    with pytest.raises(ConfigError) as raised:
        load_config({"CACHE_MONGO_URL": "mongodb://admin:s3cr3t@db:99999/"})
    assert "s3cr3t" not in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        load_config({"QUEUE_MONGO_URL": "mongodb://admin:s3cr3t@db/?notAnOption=1"})
    assert "s3cr3t" not in str(raised.value)


def start_django(**variables: str) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ADMIN_", "COMMON_", "CACHE_", "QUEUE_", "LOG_LEVEL"))
    }
    environ.update(DJANGO_SETTINGS_MODULE="adminsite.settings", **variables)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=environ,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


STARTUP_CASES = [
    ("ADMIN_CACHE_REPORTS_NUM_RESULTS", "-5"),
    ("ADMIN_CACHE_REPORTS_WITH_CONTENT_NUM_RESULTS", "many"),
    ("ADMIN_MAX_AGE", "ten"),
    ("ADMIN_HF_TIMEOUT_SECONDS", "-1"),
    ("ADMIN_UVICORN_PORT", "http"),
    ("ADMIN_STALE_JOB_SECONDS", "-1"),
    ("ADMIN_ACTIVITY_SAMPLE_SECONDS", "0"),
    ("ADMIN_ACTIVITY_RETENTION_DAYS", "-14"),
    ("COMMON_HF_ENDPOINT", "ftp://hub"),
    ("COMMON_BLOCKED_DATASETS", "*"),
    ("CACHE_MONGO_URL", "postgres://db"),
    ("QUEUE_MONGO_DATABASE", "a/b"),
    ("LOG_LEVEL", "LOUD"),
]


@pytest.mark.parametrize(("variable", "value"), STARTUP_CASES)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(variable, value):
    completed = start_django(**{variable: value})
    assert completed.returncode == 1
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"configuration error: {variable}: expected ")
    assert "Traceback" not in completed.stderr


def test_a_good_configuration_starts():
    completed = start_django(ADMIN_MAX_AGE="0", LOG_LEVEL="warning")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
