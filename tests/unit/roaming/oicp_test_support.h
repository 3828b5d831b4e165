// What the OICP unit tests share: a fake Hubject that records each push (with its body parsed),
// can be down or refuse (every operation, or some), and answers eRoamingAuthorizeStart as told;
// the OICP settings of the tests (operator DE*SWY).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "roaming/oicp_client.h"
#include "roaming/settings.h"

namespace switchyard::roaming::testing {

struct Pushed {
  OicpOperation operation;
  boost::json::object body;
  std::string action() const { return std::string(body.at("ActionType").as_string()); }
  // EvseID → EvseStatus of a status push; EvseIDs of a data push.
  std::map<std::string, std::string> statuses() const {
    std::map<std::string, std::string> out;
    for (const auto& r : body.at("OperatorEvseStatus").at("EvseStatusRecord").as_array()) {
      out[std::string(r.at("EvseID").as_string())] = std::string(r.at("EvseStatus").as_string());
    }
    return out;
  }
  std::vector<std::string> evse_ids() const {
    std::vector<std::string> out;
    for (const auto& r : body.at("OperatorEvseData").at("EvseDataRecord").as_array()) {
      out.emplace_back(r.at("EvseID").as_string());
    }
    return out;
  }
};

class FakeHubject final : public OicpClient {
 public:
  bool down = false;
  bool refuse = false;
  std::set<OicpOperation> refused_operations;  // refused whatever `refuse` says
  std::vector<Pushed> pushed;
  // eRoamingAuthorizeStart: what Hubject answers (JSON); the requests it got.
  std::string authorization_answer;
  std::vector<boost::json::object> authorization_requests;
  // eRoamingAuthorizeStop: what Hubject answers; the requests it got.
  std::string stop_answer;
  std::vector<boost::json::object> stop_requests;
  Result<std::string> request(OicpOperation operation, std::string body) override {
    if (down) return make_error(ErrorCode::kUnavailable, "authorize-start: connection refused");
    if (operation == OicpOperation::kAuthorizeStop) {
      stop_requests.push_back(boost::json::parse(body).as_object());
      return stop_answer;
    }
    EXPECT_EQ(operation, OicpOperation::kAuthorizeStart);
    authorization_requests.push_back(boost::json::parse(body).as_object());
    return authorization_answer;
  }
  Result<void> push(OicpOperation operation, std::string body) override {
    if (down) return make_error(ErrorCode::kUnavailable, "evse-status: connection refused");
    pushed.push_back({operation, boost::json::parse(body).as_object()});
    if (refuse || refused_operations.contains(operation)) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "evse-data: HTTP 200, Result false, StatusCode 022 Data error");
    }
    return {};
  }
};

inline OicpSettings oicp_settings() {
  OicpSettings s;
  s.url = "https://hubject.test/api/oicp";
  s.operator_id = "DE*SWY";
  s.hotline_phone = "+4930123456";
  return s;
}

}  // namespace switchyard::roaming::testing
