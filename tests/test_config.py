"""Configuration files and flags: typed, validated at start, flags over files."""

from __future__ import annotations

from pathlib import Path

import pytest

from profile_pipeline.config import ConfigError, load_config

CONF = Path(__file__).resolve().parent.parent / "conf"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.toml"
    path.write_text(text)
    return path


def test_shipped_configs_load():
    local = load_config(CONF / "local.toml")
    assert local.symbolication.mode == "embedded" and local.vroom.mode == "embedded"
    production = load_config(CONF / "production.example.toml")
    assert production.input.startswith("s3a://") and production.symbolication.mode == "symbolicator"


def test_flags_override_the_file(tmp_path):
    path = write(tmp_path, 'input = "a"\n[vroom]\nmode = "off"\n')
    config = load_config(path, {"input": "b", "vroom.mode": "embedded", "warehouse": None})
    assert config.input == "b" and config.vroom.mode == "embedded" and config.warehouse == "warehouse"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('inptu = "x"\n', "unknown config key inptu"),
        ('[vroom]\nurll = "x"\n', "unknown config key vroom.urll"),
        ('batch_profiles = "many"\n', "batch_profiles must be int"),
        ("batch_profiles = true\n", "batch_profiles must be int"),
        ("[limits]\nmax_frames = 1.5\n", "limits.max_frames must be int"),
        ('[symbolication]\nmode = "magic"\n', "symbolication.mode must be one of"),
        ('[vroom]\nmode = "http"\n', "needs vroom.url"),
        ('[options.metrics_dsn]\nallowed_org_ids = ["a"]\n', "options.metrics_dsn.allowed_org_ids must be int"),
        ("vroom = 3\n", "config key vroom must be a table"),
        ("this is = not toml", "not valid TOML"),
    ],
)
def test_configuration_errors_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.toml")
