// Tables, KEY VALUE listings and JSON rendered from messages by reflection.
#include "cli/ctl_output.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <sstream>

#include "switchyard/v1/authorization.pb.h"
#include "switchyard/v1/chargers.pb.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::ctl {
namespace {

using google::protobuf::util::TimeUtil;

v1::Token token(std::string id, v1::TokenStatus status, std::string group) {
  v1::Token t;
  t.set_id_token(std::move(id));
  t.set_status(status);
  t.set_group_id(std::move(group));
  return t;
}

TEST(CtlOutput, RendersAlignedTableWithDashForEmptyCells) {
  auto a = token("04A1B2", v1::TOKEN_STATUS_ACCEPTED, "fleet");
  auto b = token("X", v1::TOKEN_STATUS_BLOCKED, "");
  std::vector<const google::protobuf::Message*> rows{&a, &b};
  std::vector<Column> columns{field_column("TOKEN", "id_token"), field_column("STATUS", "status"),
                              field_column("GROUP", "group_id")};
  EXPECT_EQ(render_table(columns, rows),
            "TOKEN   STATUS    GROUP\n"
            "04A1B2  ACCEPTED  fleet\n"
            "X       BLOCKED   -\n");
}

TEST(CtlOutput, ReadsNestedPathsTimestampsAndEnums) {
  v1::Transaction tx;
  tx.mutable_id_token()->set_id("ABC");
  tx.set_state(v1::TRANSACTION_STATE_ACTIVE);
  *tx.mutable_started_at() = TimeUtil::SecondsToTimestamp(1714564800);
  tx.set_ocpp_version(v1::OCPP_VERSION_1_6);
  EXPECT_EQ(field_text(tx, "id_token.id"), "ABC");
  EXPECT_EQ(field_text(tx, "state"), "ACTIVE");
  EXPECT_EQ(field_text(tx, "started_at"), "2024-05-01T12:00:00Z");
  EXPECT_EQ(field_text(tx, "ended_at"), "");
  EXPECT_EQ(field_text(tx, "ocpp_version"), "1.6");
  EXPECT_EQ(field_text(tx, "location.evse_id"), "");
  EXPECT_EQ(field_text(tx, "no_such_field"), "");
}

TEST(CtlOutput, ListsDetailsFlattenedWithSubTables) {
  v1::ChargerState charger;
  charger.set_charger_id("CP-1");
  charger.set_online(false);
  *charger.mutable_last_seen() = TimeUtil::SecondsToTimestamp(1714564800);
  auto* connector = charger.add_connectors();
  connector->mutable_location()->set_evse_id(1);
  connector->mutable_location()->set_connector_id(1);
  connector->set_status("Available");
  std::string details = render_details(charger);
  EXPECT_NE(details.find("charger_id           CP-1\n"), std::string::npos) << details;
  EXPECT_NE(details.find("online               false\n"), std::string::npos) << details;
  EXPECT_NE(details.find("last_seen            2024-05-01T12:00:00Z\n"), std::string::npos)
      << details;
  EXPECT_NE(details.find("\nconnectors:\nLOCATION_EVSE_ID  LOCATION_CONNECTOR_ID  STATUS"),
            std::string::npos)
      << details;
  EXPECT_NE(details.find("1                 1                      Available"), std::string::npos)
      << details;
}

TEST(CtlOutput, UnwrapsSingleMessageResponses) {
  v1::GetTokenResponse response;
  *response.mutable_token() = token("T1", v1::TOKEN_STATUS_EXPIRED, "");
  std::ostringstream out;
  print_single(out, OutputFormat::kTable, response);
  EXPECT_NE(out.str().find("id_token"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("token.id_token"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("EXPIRED"), std::string::npos) << out.str();
}

TEST(CtlOutput, PrintsJsonInCamelCaseWithDefaults) {
  auto t = token("T1", v1::TOKEN_STATUS_ACCEPTED, "");
  std::string json = to_json(t, false);
  EXPECT_NE(json.find("\"idToken\":\"T1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"status\":\"TOKEN_STATUS_ACCEPTED\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"refuseConcurrent\":false"), std::string::npos) << json;
}

TEST(CtlOutput, PrintsEveryListOfAResponse) {
  v1::CountErrorsResponse response;
  auto* by_code = response.add_by_error_code();
  by_code->set_error_code("GroundFailure");
  by_code->set_count(3);
  auto* by_vendor = response.add_by_vendor_error_code();
  by_vendor->set_vendor_id("ACME");
  by_vendor->set_vendor_error_code("E42");
  by_vendor->set_count(1);
  std::ostringstream out;
  print_list(out, OutputFormat::kTable, response, {});
  EXPECT_NE(out.str().find("by_error_code:\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("\nby_vendor_error_code:\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("GroundFailure"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("E42"), std::string::npos) << out.str();
}

TEST(CtlOutput, DefaultColumnsFlattenNestedMessages) {
  auto columns = default_columns(*v1::ConnectorState::descriptor());
  ASSERT_GE(columns.size(), 3u);
  EXPECT_EQ(columns[0].header, "LOCATION_EVSE_ID");
  EXPECT_EQ(columns[1].header, "LOCATION_CONNECTOR_ID");
  EXPECT_EQ(columns[2].header, "STATUS");
}

}  // namespace
}  // namespace switchyard::ctl
