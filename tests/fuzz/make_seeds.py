#!/usr/bin/env python3
"""Writes the committed seed corpora: ocpp_frame_fuzzer's (a prefix byte for the version, one for
role/lenient/pending action, then a frame), ocpi_request_fuzzer's (a byte for the parser, then
its input) and websocket_fuzzer's (a byte for the limit and close-first, then client frames). Our own samples, not copies of the schemas or of the reference examples."""
import os

SEEDS = [
    (0, 0, '[2,"1","BootNotification",{"chargePointVendor":"ABB","chargePointModel":"Terra"}]'),
    (0, 0, '[2,"2","Heartbeat",{}]'),
    (0, 0, '[2,"3","MeterValues",{"connectorId":1,"transactionId":7,"meterValue":[{"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":"12.5","measurand":"Energy.Active.Import.Register","unit":"kWh","phase":"L1-N"}]}]}]'),
    (0, 0, '[2,"4","StatusNotification",{"connectorId":1,"errorCode":"GroundFailure","status":"Faulted","info":"x","vendorId":"v","vendorErrorCode":"E1","timestamp":"2026-12-01T10:00:00.5+01:00"}]'),
    (0, 0, '[2,"5","StartTransaction",{"connectorId":1,"idTag":"04A1B2C3","meterStart":100,"timestamp":"2026-12-01T10:00:00Z"}]'),
    (0, 0, '[2,"6","StopTransaction",{"transactionId":7,"meterStop":900,"timestamp":"2026-12-01T11:00:00Z","reason":"Local","transactionData":[{"timestamp":"2026-12-01T11:00:00Z","sampledValue":[{"value":"1","unit":"Celcius"}]}]}]'),
    (0, 0, '[2,"7","DataTransfer",{"vendorId":"com.x","messageId":"m","data":"{\\"a\\":1}"}]'),
    (0, 2, '[2,"8","StatusNotification",{"connectorId":"1","errorCode":"groundFailure","status":"Faulted","timestamp":"2026-12-01T10:00:00","extra":[1]}]'),
    (0, 1, '[2,"9","SetChargingProfile",{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":21.4}]}}}]'),
    (0, 0, '[3,"p1",{"status":"Accepted"}]'),
    (0, 0, '[4,"p1","NotSupported","no",{"a":[1,null,true]}]'),
    (0, 0, '[2,"x\\u00e9\\n","Heartbeat",{}]'),
    (1, 0, '[2,"1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V","customData":{"vendorId":"x","k":{"z":[1.5e3]}}}}]'),
    (1, 0, '[2,"2","TransactionEvent",{"eventType":"Updated","timestamp":"2026-12-01T10:00:00Z","triggerReason":"MeterValuePeriodic","seqNo":1,"transactionInfo":{"transactionId":"t1","chargingState":"Charging"},"evse":{"id":1,"connectorId":1},"meterValue":[{"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":1.5,"measurand":"Energy.Active.Import.Register","unitOfMeasure":{"unit":"kWh","multiplier":3}}]}]}]'),
    (1, 0, '[2,"3","NotifyEvent",{"generatedAt":"2026-12-01T10:00:00Z","seqNo":0,"eventData":[{"eventId":1,"timestamp":"2026-12-01T10:00:00Z","trigger":"Alerting","actualValue":"Faulted","eventNotificationType":"HardWiredNotification","component":{"name":"Connector","evse":{"id":1,"connectorId":1}},"variable":{"name":"AvailabilityState"}}]}]'),
    (1, 0, '[2,"4","DataTransfer",{"vendorId":"v","data":[1,"a",{"b":null}]}]'),
    (1, 0, '[7,"5","Heartbeat",{}]'),
    (1, 1, '[2,"6","SetVariables",{"setVariableData":[{"attributeValue":"60","component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}]'),
    (2, 0, '[6,"s","NotifyPeriodicEventStream",{"id":3,"pending":0,"basetime":"2025-03-01T10:00:00Z","data":[{"t":0,"v":"230.1"}]}]'),
    (2, 0, '[5,"r","FormatViolation","bad",{}]'),
    (2, 0, '[2,"7","Authorize",{"idToken":{"idToken":"04A1","type":"ISO14443"}}]'),
    (2, 0, '[2,"8","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]'),
    (1, 0, '{"not":"a frame"}'),
    (0, 0, '[2,"1","Heartbeat",{"a":'),
]


TOKEN = ('{"country_code":"DE","party_id":"EMS","uid":"04A1B2C3D4","type":"RFID",'
         '"contract_id":"DE-EMS-C12345678-X","issuer":"eMSP","valid":true,"whitelist":"ALLOWED",'
         '"group_id":"G1","language":"de","last_updated":"2026-12-01T10:00:00Z"}')

# (parser, input): 0 credentials, 1 versions, 2 version details, 3 envelope, 4 token NUL patch,
# 5 paging query, 6 Authorization header / path.
OCPI_SEEDS = [
    (0, '{"token":"ebf3b399-779f-4497-9b9d-ac6ad3cc44d2","url":"https://emsp.test/ocpi/versions",'
        '"roles":[{"role":"EMSP","party_id":"EMS","country_code":"NL",'
        '"business_details":{"name":"Example eMSP","website":"https://emsp.test"}}]}'),
    (0, '{"token":"t","url":"http://x","roles":[{"role":"HUB","party_id":"HUB","country_code":"DE",'
        '"business_details":{"name":"H"}},{"role":"NSP","party_id":"NSP","country_code":"DE",'
        '"business_details":{"name":"N"}}]}'),
    (0, '{"token":"a b","url":"ftp://x","roles":[]}'),
    (1, '[{"version":"2.1.1","url":"https://emsp.test/ocpi/2.1.1"},'
        '{"version":"2.2.1","url":"https://emsp.test/ocpi/2.2.1"}]'),
    (2, '{"version":"2.2.1","endpoints":[{"identifier":"credentials","role":"RECEIVER",'
        '"url":"https://emsp.test/ocpi/2.2.1/credentials"},{"identifier":"tokens","role":"SENDER",'
        '"url":"https://emsp.test/ocpi/emsp/2.2.1/tokens"}]}'),
    (3, '{"data":{"a":[1,2]},"status_code":1000,"status_message":"ok",'
        '"timestamp":"2026-12-01T10:00:00Z"}'),
    (3, '{"status_code":"2001","timestamp":"x"}'),
    (4, TOKEN + '\0{"valid":false,"last_updated":"2026-12-01T11:00:00Z"}'),
    (4, TOKEN + '\0{"uid":"OTHER","last_updated":"2026-12-01T11:00:00Z"}'),
    (4, TOKEN + '\0{"whitelist":"NEVER"}'),
    (5, 'date_from=2026-12-01T10:00:00Z&date_to=2026-12-02T10:00:00Z&offset=50&limit=20'),
    (5, 'offset=-1&limit=1000000000000'),
    (5, 'date_from=2026-12-01T10%3A00%3A00.5%2B01%3A00&limit=0'),
    (6, 'Token ZWJmM2IzOTktNzc5Zi00NDk3LTliOWQtYWM2YWQzY2M0NGQy'),
    (6, 'Token ebf3b399-779f-4497-9b9d-ac6ad3cc44d2'),
    (6, '/ocpi/cpo/2.2.1/tokens/DE/EMS/04A1B2C3D4?type=RFID'),
    (6, '/ocpi/emsp/2.2.1/tokens/04A1%20B2/authorize'),
    (7, '{"Result":true,"StatusCode":{"Code":"000","Description":"Success"}}'),
    (7, '{"Result":false,"StatusCode":{"Code":"017","Description":"Unauthorized Access",'
        '"AdditionalInfo":"certificate DE*XYZ"},"SessionID":"b2688855-7f00-0002-6d8e-48d883f6abb6"}'),
]


def ws_frame(opcode, payload, fin=True, mask=b"\x11\x22\x33\x44"):
    """A masked client frame (RFC 6455)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n <= 0xFFFF:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


WS_SEEDS = [
    (4, ws_frame(1, b'[2,"1","Heartbeat",{}]')),
    (4, ws_frame(1, b'[2,"1",', fin=False) + ws_frame(9, b"ping") + ws_frame(0, b'"Heartbeat",{}]')),
    (4, ws_frame(8, (1001).to_bytes(2, "big") + b"going away")),
    (0x84, ws_frame(1, b'[2,"9","Heartbeat",{}]') + ws_frame(8, (1000).to_bytes(2, "big"))),
    (0, ws_frame(1, b"x" * 300)),
    (10, ws_frame(2, bytes(range(256))) + ws_frame(10, b"")),
    (4, ws_frame(1, "[\"\u00e9\u20ac\U0001f600\"]".encode("utf-8"))),
]


def write(name, seeds):
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", name)
    os.makedirs(out, exist_ok=True)
    for i, seed in enumerate(seeds):
        with open(os.path.join(out, f"seed-{i:03d}"), "wb") as f:
            f.write(seed)


def main():
    write("ocpp_frame", [bytes([version, flags]) + frame.encode("utf-8")
                         for version, flags, frame in SEEDS])
    write("ocpi_request", [bytes([parser]) + text.encode("utf-8") for parser, text in OCPI_SEEDS])
    write("websocket", [bytes([flags]) + frames for flags, frames in WS_SEEDS])


if __name__ == "__main__":
    main()
