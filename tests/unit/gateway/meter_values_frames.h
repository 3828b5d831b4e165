// MeterValues frames that exercise every rule of a sample's normalization (defaults, units,
// multipliers, signed values, non-numbers), shared by the normalization and wire-format tests.
#pragma once

#include <string_view>

namespace switchyard::gateway::test_frames {

inline constexpr std::string_view kMeterValues16 =
    R"([2,"m1","MeterValues",{"connectorId":1,"transactionId":123456,"meterValue":[)"
    R"({"timestamp":"2026-12-01T10:00:00.000Z","sampledValue":[)"
    R"({"value":"12.3456","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register",)"
    R"("location":"Outlet","unit":"kWh"},)"
    R"({"value":"7400"},)"
    R"({"value":"31.5","measurand":"Current.Import","phase":"L1","unit":"A"}]},)"
    R"({"timestamp":"2026-12-01T10:00:15.000Z","sampledValue":[)"
    R"({"value":"21.5","measurand":"Temperature","unit":"Celcius"},)"
    R"({"value":"22","measurand":"Temperature","unit":"Celsius"},)"
    R"({"value":"n/a","measurand":"Voltage","unit":"V"},)"
    R"({"value":"AP7B8x==","format":"SignedData","unit":"Wh"},)"
    R"({"value":"50","measurand":"Frequency","unit":"Hertz"}]}]}])";

inline constexpr std::string_view kMeterValues201 =
    R"([2,"m3","MeterValues",{"evseId":2,"meterValue":[{"timestamp":"2026-12-01T10:00:00Z",)"
    R"("sampledValue":[)"
    R"({"value":123.4,"measurand":"Energy.Active.Import.Register","context":"Sample.Clock",)"
    R"("unitOfMeasure":{"unit":"kWh","multiplier":-1}},)"
    R"({"value":11,"measurand":"Power.Active.Import","phase":"L2","location":"Outlet",)"
    R"("unitOfMeasure":{"unit":"kW"}},)"
    R"({"value":4.5,"unitOfMeasure":{"multiplier":3}},)"
    R"({"value":20.25},)"
    R"({"value":230.1,"measurand":"Voltage","phase":"L1-N","unitOfMeasure":{"unit":"V"}},)"
    R"({"value":1500,"signedMeterValue":{"signedMeterData":"b2NtZg==",)"
    R"("signingMethod":"ECDSA-secp256r1-SHA256","encodingMethod":"OCMF","publicKey":"a2V5"}},)"
    R"({"value":7,"measurand":"SoC","unitOfMeasure":{"unit":"Percent"}}]}]}])";

}  // namespace switchyard::gateway::test_frames
