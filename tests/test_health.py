import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_is_503_when_the_broker_is_down(client, settings):
    from config.celery_app import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["broker"]["ok"] is False
    assert "127.0.0.1:1" not in response.content.decode()


def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405


def test_healthz_says_beat_never_dispatched_without_changing_the_status(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["beat"] == {"ok": False, "error": "no heartbeat recorded yet"}


def test_healthz_reports_a_recent_and_a_stale_beat_heartbeat(client, settings):
    import time

    from integration import metrics

    settings.REDIS_URL = ""
    settings.BEAT_HEARTBEAT_MAX_AGE = 180
    metrics.beat_heartbeat_record(sent_at=time.time() - 1000)
    stale = client.get("/healthz")
    assert (stale.status_code, stale.json()["status"]) == (200, "ok")
    assert stale.json()["checks"]["beat"]["ok"] is False
    assert 1000 <= stale.json()["checks"]["beat"]["age_seconds"] < 1060
    metrics.beat_heartbeat_record(sent_at=time.time() - 5)
    beat = client.get("/healthz").json()["checks"]["beat"]
    assert beat["ok"] is True
    assert 5 <= beat["age_seconds"] < 65
