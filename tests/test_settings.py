"""The settings refuse an unsafe production start; `check --deploy` is clean with real values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a" * 30 + "-prod-secret-key-with-enough-entropy-xyz",
    "CRYPTOGRAPHY_KEY": "b" * 40,
    "ALLOWED_HOSTS": "kleer.example.com",
    "DATABASE_URL": "sqlite:////tmp/kh-settings-test.sqlite3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "HUBSPOT_CLIENT_ID": "prod-client-id",
    "HUBSPOT_CLIENT_SECRET": "prod-client-secret",
    "PUBLIC_BASE_URL": "https://kleer.example.com",
}
# Everything the tests' own process exports that would leak into the child's configuration.
_INHERITED = {*PROD_ENV, "SANDBOX_ENABLED", "REDIS_URL", "TEST_REDIS_URL", "CRYPTOGRAPHY_OLD_KEYS"}


def _clean_env(env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in _INHERITED and not k.startswith("DJANGO")}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    return {**clean, **env}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=_clean_env(env), capture_output=True, text=True, timeout=60
    )


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_clean_env(env), capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_secrets():
    env = {"DEBUG": "false", "DATABASE_URL": PROD_ENV["DATABASE_URL"]}
    result = run_manage("check", env=env)
    assert result.returncode == 1
    assert (
        "DEBUG is off, so these must be set in the environment: SECRET_KEY, CRYPTOGRAPHY_KEY, ALLOWED_HOSTS, "
        "HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET"
    ) in result.stderr


def test_a_server_started_with_nothing_set_refuses_to_run():
    """gunicorn's entry point with an empty environment: DEBUG is off by default, so no public dev keys."""
    result = run_python("import config.wsgi", env={})
    assert result.returncode == 1
    assert "DEBUG is off, so these must be set in the environment: SECRET_KEY" in result.stderr


def test_the_celery_app_with_nothing_set_refuses_to_run():
    result = run_python("from config.celery_app import app; app.loader.import_default_modules()", env={})
    assert result.returncode == 1
    assert "DEBUG is off, so these must be set in the environment" in result.stderr


def test_manage_py_is_the_development_tool_with_debug_on():
    result = run_manage(
        "shell", "--no-imports", "-c", "from django.conf import settings; print(settings.DEBUG)", env={}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SANDBOX_ENABLED": "true"}, "SANDBOX_ENABLED must be false"),
        ({"CELERY_BROKER_URL": "filesystem://"}, "set CELERY_BROKER_URL to a Redis or RabbitMQ broker"),
        ({"HUBSPOT_CLIENT_SECRET": ""}, "these must be set in the environment: HUBSPOT_CLIENT_SECRET"),
        ({"HUBSPOT_CLIENT_ID": ""}, "these must be set in the environment: HUBSPOT_CLIENT_ID"),
        ({"PUBLIC_BASE_URL": "http://localhost:8000"}, "PUBLIC_BASE_URL must be this service's public https://"),
        ({"PUBLIC_BASE_URL": "https://127.0.0.1"}, "PUBLIC_BASE_URL must be this service's public https://"),
        ({"PUBLIC_BASE_URL": "http://kleer.example.com"}, "PUBLIC_BASE_URL must be this service's public https://"),
        (
            {"SECRET_KEY": "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"},
            "must not be the public development keys",
        ),
    ],
)
def test_production_refuses_an_unsafe_deployment(override, message):
    result = run_manage("check", env={**PROD_ENV, **override})
    assert result.returncode == 1, result.stdout
    assert message in result.stderr


def test_production_refuses_crypto_key_equal_to_secret_key():
    env = {**PROD_ENV, "CRYPTOGRAPHY_KEY": PROD_ENV["SECRET_KEY"]}
    result = run_manage("check", env=env)
    assert result.returncode == 1
    assert "CRYPTOGRAPHY_KEY must differ from SECRET_KEY." in result.stderr


def test_check_deploy_is_clean_in_production(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(PROD_ENV["SECRET_KEY"] + "\n")
    env = {**PROD_ENV, "SECRET_KEY": "", "SECRET_KEY_FILE": str(secret_file)}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_redis_broker_redelivers_only_after_the_task_time_limit():
    code = "from django.conf import settings; print(settings.CELERY_BROKER_TRANSPORT_OPTIONS)"
    env = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "CELERY_TASK_TIME_LIMIT": "1200"}
    result = run_manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "{'visibility_timeout': 1500}"
