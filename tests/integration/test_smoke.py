from tests.integration.conftest import ApiClient


def test_posted_event_is_returned_with_identical_payload_bytes(api: ApiClient) -> None:
    # Given a payload with spacing and number forms json.dumps would change
    payload = '{"id": 1,  "price": 1.50, "big": 1e3, "name": "caf\\u00e9"}'

    # When it is posted and read back
    created = api.post("/v1/events", data='{"event_type": "order.created", "payload": ' + payload + "}")
    fetched = api.get(f"/v1/events/{created.json()['id']}")

    # Then the stored payload is the exact text sent
    assert created.status_code == 201
    assert fetched.status_code == 200
    assert fetched.text.endswith('"payload":' + payload + "}")
