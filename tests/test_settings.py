"""The settings refuse an unsafe production start; `check --deploy` is clean with real values."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a" * 30 + "-prod-secret-key-with-enough-entropy-xyz",
    "CRYPTOGRAPHY_KEY": "b" * 40,
    "ALLOWED_HOSTS": "kleer.example.com",
    "DATABASE_URL": "sqlite:////tmp/kh-settings-test.sqlite3",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PROD_ENV and not k.startswith("DJANGO")}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_secrets():
    env = {"DEBUG": "false", "DATABASE_URL": PROD_ENV["DATABASE_URL"]}
    result = run_manage("check", env=env)
    assert result.returncode == 1
    assert (
        "DEBUG is off, so these must be set in the environment: SECRET_KEY, CRYPTOGRAPHY_KEY, ALLOWED_HOSTS"
    ) in result.stderr


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
