#!/usr/bin/env python3
"""Writes the committed seed corpus of ocpp_frame_fuzzer: a prefix byte for the version, one for
role/lenient/pending action, then a frame. Our own sample frames, not copies of the schemas."""
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


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "ocpp_frame")
    os.makedirs(out, exist_ok=True)
    for i, (version, flags, frame) in enumerate(SEEDS):
        with open(os.path.join(out, f"seed-{i:03d}"), "wb") as f:
            f.write(bytes([version, flags]) + frame.encode("utf-8"))


if __name__ == "__main__":
    main()
