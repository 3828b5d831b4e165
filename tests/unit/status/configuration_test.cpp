// Configuration values from 1.6 and 2.x payloads.
#include "status/configuration.h"

#include <gtest/gtest.h>

namespace switchyard::status {
namespace {

TEST(Configuration, GetConfigurationAnswerKeepsVendorKeysAndReadonly) {
  auto values = values_from_command(
      "GetConfiguration", "{}",
      R"({"configurationKey":[{"key":"HeartbeatInterval","readonly":false,"value":"300"},
          {"key":"ChargePointVendor.X-Firmware-Channel","readonly":true,"value":"beta"},
          {"key":"NoValue","readonly":false}],"unknownKey":["Foo"]})");
  ASSERT_TRUE(values);
  ASSERT_EQ(values->size(), 3u);
  EXPECT_EQ((*values)[0].key, "HeartbeatInterval");
  EXPECT_EQ((*values)[0].value, "300");
  EXPECT_FALSE((*values)[0].readonly);
  EXPECT_EQ((*values)[1].key, "ChargePointVendor.X-Firmware-Channel");
  EXPECT_TRUE((*values)[1].readonly);
  EXPECT_EQ((*values)[2].value, "");
}

TEST(Configuration, ChangeConfigurationCountsOnlyWhenAccepted) {
  const char* request = R"({"key":"MeterValueSampleInterval","value":"60"})";
  auto accepted = values_from_command("ChangeConfiguration", request, R"({"status":"Accepted"})");
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->size(), 1u);
  EXPECT_EQ((*accepted)[0].value, "60");
  auto reboot =
      values_from_command("ChangeConfiguration", request, R"({"status":"RebootRequired"})");
  EXPECT_EQ(reboot->size(), 1u);
  auto rejected = values_from_command("ChangeConfiguration", request, R"({"status":"Rejected"})");
  EXPECT_TRUE(rejected->empty());
}

TEST(Configuration, GetVariablesKeysNameComponentEvseAndInstances) {
  auto values = values_from_command("GetVariables", "{}",
                                    R"({"getVariableResult":[
        {"attributeStatus":"Accepted","attributeValue":"true",
         "component":{"name":"Connector","evse":{"id":1,"connectorId":2}},"variable":{"name":"Enabled"}},
        {"attributeStatus":"Accepted","attributeValue":"32","attributeType":"Actual",
         "component":{"name":"SmartChargingCtrlr","instance":"main"},"variable":{"name":"LimitChangeSignificance","instance":"A"}},
        {"attributeStatus":"Accepted","attributeValue":"16","attributeType":"Target",
         "component":{"name":"X"},"variable":{"name":"Y"}},
        {"attributeStatus":"UnknownVariable","component":{"name":"X"},"variable":{"name":"Z"}}]})");
  ASSERT_TRUE(values);
  ASSERT_EQ(values->size(), 2u);
  EXPECT_EQ((*values)[0].key, "Connector@1:2.Enabled");
  EXPECT_EQ((*values)[1].key, "SmartChargingCtrlr/main.LimitChangeSignificance/A");
  EXPECT_EQ((*values)[1].value, "32");
}

TEST(Configuration, SetVariablesPairsResultsWithTheRequest) {
  auto values = values_from_command("SetVariables",
                                    R"({"setVariableData":[
        {"attributeValue":"60","component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}},
        {"attributeValue":"x","component":{"name":"Foo"},"variable":{"name":"Bar"}}]})",
                                    R"({"setVariableResult":[
        {"attributeStatus":"Accepted","component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}},
        {"attributeStatus":"Rejected","component":{"name":"Foo"},"variable":{"name":"Bar"}}]})");
  ASSERT_TRUE(values);
  ASSERT_EQ(values->size(), 1u);
  EXPECT_EQ((*values)[0].key, "OCPPCommCtrlr.HeartbeatInterval");
  EXPECT_EQ((*values)[0].value, "60");
}

TEST(Configuration, NotifyReportTakesActualValuesAndMutability) {
  auto values = values_from_report(R"({"requestId":1,"generatedAt":"2026-01-01T00:00:00Z","seqNo":0,
    "reportData":[{"component":{"name":"ChargingStation"},"variable":{"name":"Model"},
                   "variableAttribute":[{"value":"X1","mutability":"ReadOnly"},{"type":"MaxSet","value":"9"}]},
                  {"component":{"name":"EVSE","evse":{"id":1}},"variable":{"name":"Power"},
                   "variableAttribute":[{"type":"Actual","value":"22000"}]}]})");
  ASSERT_TRUE(values);
  ASSERT_EQ(values->size(), 2u);
  EXPECT_EQ((*values)[0].key, "ChargingStation.Model");
  EXPECT_TRUE((*values)[0].readonly);
  EXPECT_EQ((*values)[1].key, "EVSE@1.Power");
  EXPECT_EQ((*values)[1].value, "22000");
}

TEST(Configuration, MalformedPayloadsAreErrorsNotCrashes) {
  EXPECT_FALSE(values_from_command("GetConfiguration", "{}", "not json"));
  EXPECT_FALSE(values_from_report("[1,2]"));
  auto other = values_from_command("Reset", "{}", R"({"status":"Accepted"})");
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->empty());
  // Wrong member types are skipped, not fatal.
  auto odd = values_from_command("GetConfiguration", "{}",
                                 R"({"configurationKey":[1,"x",{"key":"A","value":5}]})");
  ASSERT_TRUE(odd);
  ASSERT_EQ(odd->size(), 1u);
  EXPECT_EQ((*odd)[0].value, "5");
}

}  // namespace
}  // namespace switchyard::status
