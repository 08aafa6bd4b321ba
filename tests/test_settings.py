"""Settings parsing and the one-line configuration errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dashapp.settings import ConfigError, load_settings, settings_table


def test_se01_defaults(tmp_path):
    s = load_settings({"TICKSTOCK_DATA_DIR": str(tmp_path)}, env_file=None)
    assert s.database_url == f"sqlite:///{tmp_path}/tickstock.db"
    assert (s.host, s.port) == ("127.0.0.1", 8050)
    assert s.redis_url is None and s.massive_api_key is None
    assert s.redis_error_channel == "tickstock:errors"
    assert s.log_db_severity_threshold == "ERROR"
    assert len(s.secret_key) == 64


def test_se02_dotenv_then_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9000\nLOG_LEVEL=debug\nREDIS_URL=redis://h:1/0\n")
    s = load_settings({"PORT": "9001"}, env_file=env_file)
    assert s.port == 9001 and s.log_level == "DEBUG"
    assert s.redis_url == "redis://h:1/0"


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("PORT", "abc", "PORT='abc' is invalid: expected an integer 1..65535"),
        ("PORT", "70000", "expected an integer 1..65535"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL='mysql://x' is invalid"),
        ("REDIS_URL", "http://x", "REDIS_URL='http://x' is invalid"),
        ("LOG_LEVEL", "LOUD", "expected one of DEBUG, INFO, WARNING, ERROR"),
        ("LOG_FILE_ENABLED", "maybe", "expected true/false"),
        ("LOG_DB_SEVERITY_THRESHOLD", "x", "LOG_DB_SEVERITY_THRESHOLD='x'"),
        ("WEBSOCKET_CORS_ORIGINS", "evil.com", "http(s):// origins"),
        ("MASSIVE_WS_URL", "http://x", "expected a ws:// or wss:// URL"),
    ],
)
def test_se03_bad_values_name_the_variable(var, value, expected):
    with pytest.raises(ConfigError) as err:
        load_settings({var: value}, env_file=None)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_se04_postgres_scheme_normalised():
    s = load_settings({"DATABASE_URL": "postgres://u@h/db"}, env_file=None)
    assert s.database_url == "postgresql://u@h/db"


def test_se05_cli_exits_nonzero_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dashapp.cli", "init-db"],
        env={"PORT": "notaport", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "tickstock: configuration error: PORT='notaport' is invalid: "
        "expected an integer 1..65535"
    ]


def test_se06_settings_table_covers_every_field():
    names = [row[0] for row in settings_table()]
    assert "DATABASE_URL" in names and "WEBSOCKET_CORS_ORIGINS" in names
    assert len(names) == len(set(names))
