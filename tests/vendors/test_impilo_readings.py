"""Impilo readings over HTTP: record, list and fetch per type, filters and paging, plausible seeded series."""

from __future__ import annotations

import itertools
import statistics
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.helpers import IMPILO_KEY, base, on_each_store, state
from tests.support.webhooks import logs

B = base("impilo")
AT = "2025-01-06T15:30:00Z"
# path stem, a body's values, the device sending it (None: entered for patient 1234 by hand)
RECORDS = [
    pytest.param("blood-pressure", {"systolic": 131, "diastolic": 84, "heartRate": 71}, 102, id="blood-pressure"),
    pytest.param("blood-glucose", {"glucose": 104, "beforeMeal": True}, 105, id="blood-glucose"),
    pytest.param("weight", {"weight": 181.2}, 103, id="weight"),
    pytest.param("blood-oxygen", {"bloodOxygen": 97, "heartRate": 66}, 104, id="blood-oxygen"),
    pytest.param("temperature", {"temperature": 98.6, "temperatureUnit": "fahrenheit"}, None, id="temperature"),
    pytest.param("heart-rate", {"heartRate": 64}, None, id="heart-rate"),
    pytest.param("heart-rate-variability", {"heartRateVariability": 41.5}, None, id="heart-rate-variability"),
    pytest.param("peak-flow", {"peakExpiratoryFlow": 132, "forcedExpiratoryVolumeInOneSecond": 0.89}, 110,
                 id="peak-flow"),
    pytest.param("sleep-mat-activity", {"bedTime": ["2025-01-05T22:40:00Z"], "getUpTime": ["2025-01-06T03:10:00Z"],
                 "bodyTurnOver": 14, "duration": "PT7H5M", "heartRate": 58, "respiration": 14}, None,
                 id="sleep-mat-activity"),
    pytest.param("sleep-mat-duration", {"bodyTurnOver": 14, "deepSleep": 95, "lightSleep": 240, "rem": 90,
                 "duration": "PT7H5M", "heartRate": 58, "respiration": 14}, None, id="sleep-mat-duration"),
]  # fmt: skip


@pytest.mark.parametrize(("stem", "measured", "device"), RECORDS)
def test_impilo_reading_recorded_is_fetched_and_listed_with_patient_device_and_units(
    client: TestClient, stem: str, measured: dict[str, Any], device: int | None
) -> None:
    source = {"deviceId": device} if device else {"patientId": 1234 if stem != "peak-flow" else 0, "manual": True}
    response = client.post(f"{B}/{stem}-reading", json={"readingTimestamp": AT, **source, **measured},
                           headers=IMPILO_KEY)  # fmt: skip
    assert response.status_code == 200, response.text
    reading = response.json()
    renamed = {
        "forcedExpiratoryVolume" if k == "forcedExpiratoryVolumeInOneSecond" else k: v for k, v in measured.items()
    }
    assert {k: reading[k] for k in renamed} == renamed
    assert reading["readingTimestamp"] == "2025-01-06T15:30:00.000Z"
    assert ("device" in reading) == (device is not None) and reading["patient"]["id"] in (0, 1234)
    if stem == "blood-pressure":
        assert (reading["systolicUnit"], reading["diastolicUnit"], reading["heartRateUnit"]) == ("mmhg",) * 2 + ("bpm",)
        assert reading["item"]["id"] == 1000
    assert client.get(f"{B}/{stem}-reading/{reading['id']}", headers=IMPILO_KEY).json() == reading
    listed = client.get(f"{B}/{stem}-reading", params={"startTimestamp": AT, "size": 250}, headers=IMPILO_KEY).json()
    assert [r["id"] for r in listed["content"]] == [reading["id"]]


@on_each_store
def test_impilo_reading_fires_its_webhook_with_the_site_and_is_listed_by_device(client: TestClient) -> None:
    client.post(
        f"{B}/webhook", json={"type": "reading.bloodPressure", "url": "http://127.0.0.1:9/h"}, headers=IMPILO_KEY
    )
    body = {"readingTimestamp": AT, "deviceIdentifier": "SN-0102", "systolic": 128, "diastolic": 80}
    reading = client.post(f"{B}/blood-pressure-reading", json=body, headers=IMPILO_KEY).json()
    [row] = logs(client)
    assert row["webhookType"] == "reading.bloodPressure" and f'"id":{reading["id"]}' in row["payload"]
    assert '"site":{"id":1234' in row["payload"]
    mine = client.get(f"{B}/blood-pressure-reading", params={"deviceId": 102, "sortDescending": True},
                      headers=IMPILO_KEY).json()  # fmt: skip
    assert mine["content"][0]["id"] == reading["id"] and all(r["device"]["id"] == 102 for r in mine["content"])


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param({"systolic": 120, "diastolic": 80}, 400, "Either a device ID, device identifier, or patient ID",
                     id="no-device-or-patient-is-400"),
        pytest.param({"deviceId": 106, "systolic": 120, "diastolic": 80}, 409, "disabled",
                     id="device-with-readings-disabled-is-409-and-not-saved"),
        pytest.param({"deviceId": 101, "systolic": 120, "diastolic": 80}, 409, "not associated with a patient",
                     id="device-without-a-patient-is-409"),
        pytest.param({"deviceId": 102, "patientId": 0, "systolic": 120, "diastolic": 80}, 409, "not with patient 0",
                     id="device-of-another-patient-is-409"),
        pytest.param({"patientId": 999999, "systolic": 120, "diastolic": 80}, 404, "Patient 999999",
                     id="unknown-patient-is-404"),
        pytest.param({"deviceIdentifier": "NOPE", "systolic": 120, "diastolic": 80}, 404, "NOPE",
                     id="unknown-device-is-404"),
    ],
)  # fmt: skip
def test_impilo_reading_refused_in_impilo_shape_stores_nothing_and_fires_nothing(
    client: TestClient, body: dict[str, Any], status: int, message: str
) -> None:
    client.post(
        f"{B}/webhook", json={"type": "reading.bloodPressure", "url": "http://127.0.0.1:9/h"}, headers=IMPILO_KEY
    )
    before = state(client, "impilo")["readings_bloodPressure"]
    response = client.post(f"{B}/blood-pressure-reading", json={"readingTimestamp": AT, **body}, headers=IMPILO_KEY)
    assert response.status_code == status, response.text
    assert message in response.json()["message"] and response.json()["status"] == status
    assert state(client, "impilo")["readings_bloodPressure"] == before and logs(client) == []


def test_impilo_reading_list_filters_by_patient_external_identifier_and_time_range(client: TestClient) -> None:
    external = client.get(f"{B}/patient/1234", headers=IMPILO_KEY).json()["externalIdentifier"]
    window = {"startTimestamp": "2024-12-20T00:00:00Z", "endTimestamp": "2024-12-27T00:00:00Z", "size": 250}
    by_id = client.get(f"{B}/blood-pressure-reading", params={**window, "patientId": 1234}, headers=IMPILO_KEY).json()
    by_ext = client.get(f"{B}/blood-pressure-reading", params={**window, "externalIdentifier": external},
                        headers=IMPILO_KEY).json()  # fmt: skip
    assert by_id == by_ext and by_id["total"] == 14  # seven days, morning and evening
    stamps = [r["readingTimestamp"] for r in by_id["content"]]
    assert stamps == sorted(stamps) and stamps[0] >= "2024-12-20" and stamps[-1] < "2024-12-27"
    nobody = client.get(f"{B}/blood-pressure-reading", params={"externalIdentifier": "nobody"}, headers=IMPILO_KEY)
    assert nobody.status_code == 200 and nobody.json()["total"] == 0


def test_impilo_reading_list_pages_with_exact_totals(client: TestClient) -> None:
    first = client.get(f"{B}/blood-pressure-reading", params={"patientId": 1234, "size": 25}, headers=IMPILO_KEY).json()
    assert first["total"] == 60 and first["first"] and not first["last"] and len(first["content"]) == 25
    third = client.get(f"{B}/blood-pressure-reading", params={"patientId": 1234, "size": 25, "page": 3},
                       headers=IMPILO_KEY).json()  # fmt: skip
    assert third["last"] and len(third["content"]) == 10


def test_impilo_seeded_blood_pressure_series_is_one_persons_plausible_and_deterministic(make_client: Any) -> None:
    def series(seed: int, patient: int) -> list[dict[str, Any]]:
        params = {"patientId": patient, "size": 250}
        return (
            make_client(seed=seed)
            .get(f"{B}/blood-pressure-reading", params=params, headers=IMPILO_KEY)
            .json()["content"]
        )

    mine = series(0, 1234)
    assert mine == series(0, 1234) and mine != series(1, 1234)
    systolic = [r["systolic"] for r in mine]
    assert all(90 <= s <= 200 and 55 <= r["diastolic"] < s for s, r in zip(systolic, mine, strict=True))
    assert statistics.pstdev(systolic) < 10  # one person's readings scatter around their own level
    assert max(abs(a - b) for a, b in itertools.pairwise(systolic)) < 35
