"""Self-test of the mock Hubject (hubject_peer.py): what it accepts, refuses, stores and records,
called with `requests` as a CPO would call Hubject. No Switchyard binaries: a few seconds.

Every answer the mock gives is checked against the response schema of its operation in the OICP
2.3 CPO OpenAPI description (../shared/roaming, read at test time): the mock must answer as the
file says Hubject answers. Without the file these tests skip (fail with CI=true).
"""

import json
import subprocess
import threading
import uuid

import pytest
import requests

from hubject_peer import Hubject, missing_openapi, oicp_schemas, sample_evse_data_record
from servicekit import in_ci

STATUS = "/evsepush/v21/operators/{op}/status-records"
DATA = "/evsepush/v23/operators/{op}/data-records"
START = "/charging/v21/operators/{op}/authorize/start"
STOP = "/charging/v21/operators/{op}/authorize/stop"
CDR = "/cdrmgmt/v22/operators/{op}/charge-detail-record"
PRODUCTS = "/dynamicpricing/v10/operators/{op}/pricing-products"
EVSE_PRICING = "/dynamicpricing/v10/operators/{op}/evse-pricing"


@pytest.fixture(scope="module", autouse=True)
def openapi():
    message = missing_openapi()
    if message:
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return oicp_schemas()


@pytest.fixture
def hub(tmp_path, openapi):
    """A mock Hubject; afterwards, every answer it gave must fit the OpenAPI file."""
    with Hubject(tmp_path) as hub:
        yield hub
    for r in hub.requests:
        if r["status"] is None:
            continue
        schema = "eRoamingAcknowledgment"
        if r["status"] == 200:
            schema = openapi.operation(r["operation"]).response
        openapi.validate(schema, r["answer"])


def post(hub, path, body, cn=None, operator=None, raw=None):
    """POSTs like a CPO: hubject-ca trusted, the client certificate of `cn` (the operator's)."""
    certificate, key = hub.client_files(cn)
    return requests.post(hub.url + path.format(op=operator or hub.operator_id),
                         data=raw if raw is not None else json.dumps(body),
                         headers={"Content-Type": "application/json"},
                         verify=str(hub.hubject_ca), cert=(str(certificate), str(key)),
                         timeout=5)


def status_push(status="Available", operator="DE*SWY", action="update", evse="DE*SWY*E1*1"):
    return {"ActionType": action,
            "OperatorEvseStatus": {"OperatorID": operator, "OperatorName": "Switchyard",
                                   "EvseStatusRecord": [{"EvseID": evse,
                                                         "EvseStatus": status}]}}


def evse_data_push(records, action="fullLoad"):
    return {"ActionType": action,
            "OperatorEvseData": {"OperatorID": "DE*SWY", "OperatorName": "Switchyard",
                                 "EvseDataRecord": records}}


def acknowledged(answer, result=True, code="000"):
    body = answer.json()
    return body["Result"] is result and body["StatusCode"]["Code"] == code


def test_a_valid_status_push_is_stored(hub):
    answer = post(hub, STATUS, status_push())
    assert answer.status_code == 200 and acknowledged(answer), answer.text
    assert hub.statuses == {"DE*SWY*E1*1": "Available"}
    (r,) = hub.since(0, "eRoamingPushEvseStatus")
    assert r["valid"] and r["errors"] == [] and r["client_cn"] == "DE*SWY"
    assert r["operator_id"] == "DE*SWY" and r["result"] is True and r["code"] == "000"
    assert r["start"] < r["end"] and r["end"] - r["start"] >= hub.delay
    # The OperatorID URL-encoded, as some clients send it; another status of the same EVSE.
    answer = post(hub, STATUS, status_push("Occupied"), operator="DE%2ASWY")
    assert acknowledged(answer), answer.text
    assert hub.statuses == {"DE*SWY*E1*1": "Occupied"} and hub.anomalies == []
    assert not hub.overlaps()


def test_an_invalid_body_is_refused_with_022(hub):
    answer = post(hub, STATUS, status_push("Busy"))
    assert answer.status_code == 400 and acknowledged(answer, False, "022"), answer.text
    assert "Busy" in answer.json()["StatusCode"]["AdditionalInfo"]
    r = hub.requests[-1]
    assert r["valid"] is False and "Busy" in r["errors"][0] and r["result"] is False
    answer = post(hub, STATUS, None, raw=b'{"ActionType": "update",')
    assert answer.status_code == 400 and acknowledged(answer, False, "022"), answer.text
    assert hub.requests[-1]["errors"][0].startswith("malformed JSON")
    assert hub.statuses == {}


def test_another_operator_in_the_body_or_the_certificate_is_017(hub):
    answer = post(hub, STATUS, status_push(operator="DE*OTH"))
    assert answer.status_code == 200 and acknowledged(answer, False, "017"), answer.text
    assert answer.json()["StatusCode"]["Description"] == "Unauthorized Access"
    answer = post(hub, STATUS, status_push(), cn="DE*OTH")
    assert answer.status_code == 200 and acknowledged(answer, False, "017"), answer.text
    assert hub.requests[-1]["client_cn"] == "DE*OTH"
    answer = post(hub, STATUS, status_push(operator="DE*OTH"), operator="DE*OTH")
    assert acknowledged(answer, False, "017"), answer.text
    # "DESWY" is the same operator as "DE*SWY" (Hubject compares without the '*').
    assert acknowledged(post(hub, STATUS, status_push(operator="DESWY")))
    assert hub.statuses == {"DE*SWY*E1*1": "Available"}


def test_no_client_certificate_is_refused_in_the_handshake(hub):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(hub.url + STATUS.format(op="DE*SWY"), json=status_push(),
                      verify=str(hub.hubject_ca), timeout=5)
    hub.wait_for(lambda h: h.handshake_failures, 5, "refused handshake")
    assert hub.requests == []


def test_evse_data_full_load_insert_update_delete(hub, openapi):
    record = sample_evse_data_record()
    openapi.validate("EvseDataRecord", record)
    answer = post(hub, DATA, evse_data_push([record]))
    assert answer.status_code == 200 and acknowledged(answer), answer.text
    assert hub.evses == {"DE*SWY*E1*1": record}
    second = sample_evse_data_record("DE*SWY*E2*1")
    assert acknowledged(post(hub, DATA, evse_data_push([second], "insert")))
    changed = sample_evse_data_record("DE*SWY*E2*1", IsOpen24Hours=False)
    assert acknowledged(post(hub, DATA, evse_data_push([changed], "update")))
    assert hub.evses["DE*SWY*E2*1"]["IsOpen24Hours"] is False and hub.anomalies == []
    assert acknowledged(post(hub, DATA, evse_data_push([record], "delete")))
    assert list(hub.evses) == ["DE*SWY*E2*1"]
    # A full load replaces everything the operator pushed; an update of an unknown EVSE is
    # stored as Hubject would store it, and noted.
    assert acknowledged(post(hub, DATA, evse_data_push([record])))
    assert list(hub.evses) == ["DE*SWY*E1*1"]
    assert acknowledged(post(hub, DATA, evse_data_push([second], "update")))
    assert hub.anomalies == ["evses: update of unknown DE*SWY*E2*1"]
    broken = dict(record, Plugs=["Type 2"], HotlinePhoneNumber="030 123")
    answer = post(hub, DATA, evse_data_push([broken]))
    assert answer.status_code == 400 and len(hub.requests[-1]["errors"]) == 2, answer.text


def test_down_refuses_connections_and_up_serves_again(hub):
    assert acknowledged(post(hub, STATUS, status_push()))
    port = hub.port
    hub.down()
    with pytest.raises(requests.exceptions.ConnectionError):
        post(hub, STATUS, status_push("Occupied"))
    hub.up()
    assert hub.port == port and hub.statuses == {"DE*SWY*E1*1": "Available"}
    assert acknowledged(post(hub, STATUS, status_push("Occupied")))
    assert hub.statuses == {"DE*SWY*E1*1": "Occupied"} and len(hub.requests) == 2


def test_parallel_pushes_of_one_operation_are_detected(hub):
    post(hub, STATUS, status_push())
    post(hub, STATUS, status_push("Occupied"))
    assert hub.overlaps() == []
    hub.delay = 0.3
    barrier = threading.Barrier(2)

    def push(status):
        barrier.wait()
        post(hub, STATUS, status_push(status))

    threads = [threading.Thread(target=push, args=(s,)) for s in ("Available", "Reserved")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    (pair,) = hub.overlaps("eRoamingPushEvseStatus")
    assert {pair[0]["body"]["OperatorEvseStatus"]["EvseStatusRecord"][0]["EvseStatus"],
            pair[1]["body"]["OperatorEvseStatus"]["EvseStatusRecord"][0]["EvseStatus"]} == \
        {"Available", "Reserved"}
    assert hub.overlaps("eRoamingPushEvseData") == []


def test_failures_unknown_paths_and_methods(hub):
    hub.fail("eRoamingPushEvseStatus", times=2)
    for _ in range(2):
        answer = post(hub, STATUS, status_push())
        assert answer.status_code == 200 and acknowledged(answer, False, "021"), answer.text
        assert hub.requests[-1]["injected"]
    assert hub.statuses == {}
    assert acknowledged(post(hub, STATUS, status_push()))
    with pytest.raises(ValueError):
        hub.fail("eRoamingPushEvseStatuses")
    answer = post(hub, "/evsepush/v99/operators/{op}/status-records", status_push())
    assert answer.status_code == 404 and acknowledged(answer, False, "022"), answer.text
    certificate, key = hub.client_files()
    answer = requests.get(hub.url + STATUS.format(op="DE*SWY"), verify=str(hub.hubject_ca),
                          cert=(str(certificate), str(key)), timeout=5)
    assert answer.status_code == 405, answer.text


def cdr(session_id, start="2026-03-01T10:00:00+01:00", end="2026-03-01T11:00:00+01:00"):
    return {"SessionID": session_id, "EvseID": "DE*SWY*E1*1",
            "Identification": {"RemoteIdentification": {"EvcoID": "DE-8EO-CAB123456-X"}},
            "ChargingStart": start, "ChargingEnd": end, "SessionStart": start,
            "SessionEnd": end, "ConsumedEnergy": 12.5}


def test_authorize_start_stop_and_cdrs(hub):
    remote = {"RemoteIdentification": {"EvcoID": "DE-8EO-CAB123456-X"}}
    answer = post(hub, START, {"OperatorID": "DE*SWY", "EvseID": "DE*SWY*E1*1",
                               "Identification": remote, "CPOPartnerSessionID": "ours-1"})
    body = answer.json()
    assert body["AuthorizationStatus"] == "Authorized" and body["ProviderID"] == "DE-8EO", body
    assert body["StatusCode"]["Code"] == "000" and body["CPOPartnerSessionID"] == "ours-1"
    session_id = body["SessionID"]
    # Once an identification is named, the others are not authorized (102).
    hub.authorize("DE*8EO*CAB123456*X", provider="DE*8EO")
    rfid = {"RFIDMifareFamilyIdentification": {"UID": "AABBCCDD"}}
    body = post(hub, START, {"OperatorID": "DE*SWY", "Identification": rfid}).json()
    assert body["AuthorizationStatus"] == "NotAuthorized", body
    assert body["StatusCode"]["Code"] == "102"
    body = post(hub, START, {"OperatorID": "DE*SWY", "Identification": remote}).json()
    assert body["AuthorizationStatus"] == "Authorized" and body["ProviderID"] == "DE*8EO", body
    body = post(hub, START, {"OperatorID": "DE*OTH", "Identification": remote}).json()
    assert body["AuthorizationStatus"] == "NotAuthorized", body
    assert body["StatusCode"]["Code"] == "017"

    stop = {"SessionID": session_id, "OperatorID": "DE*SWY", "Identification": remote}
    body = post(hub, STOP, stop).json()
    assert body["AuthorizationStatus"] == "Authorized" and body["SessionID"] == session_id, body
    body = post(hub, STOP, dict(stop, SessionID=str(uuid.uuid4()))).json()
    assert body["AuthorizationStatus"] == "NotAuthorized", body
    assert body["StatusCode"]["Code"] == "400"

    answer = post(hub, CDR, cdr(session_id))
    assert answer.status_code == 200 and acknowledged(answer), answer.text
    assert hub.cdr_sessions[session_id] == 1 and hub.cdrs[0]["ConsumedEnergy"] == 12.5
    assert hub.anomalies == []
    assert acknowledged(post(hub, CDR, cdr(session_id)))
    assert hub.cdr_sessions[session_id] == 2 and len(hub.anomalies) == 1
    answer = post(hub, CDR, cdr(session_id, start="2026-03-01T10:00:00"))  # no offset
    assert answer.status_code == 400, answer.text
    assert "date-time" in answer.json()["StatusCode"]["AdditionalInfo"]
    assert hub.cdr_sessions[session_id] == 2


def test_pricing_products_and_evse_pricing(hub):
    product = {"ProductID": "AC", "ReferenceUnit": "KILOWATT_HOUR", "ProductPriceCurrency": "EUR",
               "PricePerReferenceUnit": 0.39, "MaximumProductChargingPower": 22,
               "IsValid24hours": True,
               "ProductAvailabilityTimes": [{"Periods": [{"begin": "00:00", "end": "23:59"}],
                                             "on": "Everyday"}]}
    push = {"ActionType": "fullLoad",
            "PricingProductData": {"OperatorID": "DE*SWY", "ProviderID": "*",
                                   "PricingDefaultPrice": 0.45,
                                   "PricingDefaultPriceCurrency": "EUR",
                                   "PricingDefaultReferenceUnit": "KILOWATT_HOUR",
                                   "PricingProductDataRecords": [product]}}
    assert acknowledged(post(hub, PRODUCTS, push))
    assert hub.products == {"AC": product}
    pricing = {"ActionType": "insert",
               "EVSEPricing": [{"EvseID": "DE*SWY*E1*1", "ProviderID": "*",
                                "EvseIDProductList": ["AC"]}]}
    assert acknowledged(post(hub, EVSE_PRICING, pricing))
    assert hub.evse_pricing == {"DE*SWY*E1*1": ["AC"]}
    assert hub.evse_pricing_items == {("DE*SWY*E1*1", "*"): ["AC"]}


def test_certificates_for_both_directions(hub):
    for certificate, ca, purpose in ((hub.client_certificate, hub.client_ca, "sslclient"),
                                     (hub.server_certificate, hub.hubject_ca, "sslserver"),
                                     (hub.hubject_client_files()[0], hub.hubject_ca,
                                      "sslclient")):
        subprocess.run(["openssl", "verify", "-x509_strict", "-purpose", purpose, "-CAfile",
                        str(ca), str(certificate)], check=True, capture_output=True)
    assert hub.hubject_client_context(hub.hubject_ca) is not None
    assert hub.client_context().verify_mode.name == "CERT_REQUIRED"
    flags = hub.cpo_flags()
    assert flags["oicp-url"] == f"https://127.0.0.1:{hub.port}/api/oicp"
    assert flags["oicp-ca"] == str(hub.hubject_ca) and flags["oicp-operator-id"] == "DE*SWY"
