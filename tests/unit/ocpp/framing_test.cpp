// OCPP-J framing: every message type, every malformed frame, and what each version answers.
#include <gtest/gtest.h>

#include "common/ocpp/decoder.h"
#include "common/ocpp/encoder.h"
#include "common/ocpp/generated/v16/messages.h"
#include "common/ocpp/generated/v201/messages.h"
#include "common/ocpp/generated/v21/messages.h"

namespace switchyard::ocpp {
namespace {

class FramingTest : public ::testing::Test {
 protected:
  std::expected<DecodedFrame, DecodeError> decode(Version v, std::string_view frame,
                                                  const PendingCall* pending = nullptr) {
    return decoder_.decode(v, Role::kCsms, frame, pending);
  }
  DecodeError error(Version v, std::string_view frame, const PendingCall* pending = nullptr) {
    auto r = decode(v, frame, pending);
    EXPECT_FALSE(r.has_value()) << frame;
    return r ? DecodeError{} : r.error();
  }
  std::string name(const DecodeError& e, Version v) {
    return std::string(rpc_error_name(e.code, v));
  }
  Decoder decoder_;
};

TEST_F(FramingTest, DecodesACallIntoItsTypedRequest) {
  auto r =
      decode(Version::k16,
             R"([2,"42","BootNotification",{"chargePointVendor":"ABB","chargePointModel":"T1"}])");
  ASSERT_TRUE(r) << r.error().description;
  EXPECT_EQ(r->type, MessageType::kCall);
  EXPECT_EQ(r->message_id, "42");
  EXPECT_EQ(r->action, "BootNotification");
  const auto* boot = r->as<v16::BootNotificationRequest>();
  ASSERT_NE(boot, nullptr);
  EXPECT_EQ(boot->charge_point_vendor, "ABB");
  EXPECT_FALSE(boot->charge_point_serial_number.has_value());
  EXPECT_EQ(r->as<v16::HeartbeatRequest>(), nullptr);
}

TEST_F(FramingTest, TypesACallResultByThePendingCall) {
  const PendingCall pending{"c-1", find_message(Version::k201, "GetVariables")};
  auto r = decode(
      Version::k201,
      R"([3,"c-1",{"getVariableResult":[{"attributeStatus":"Accepted","attributeValue":"60",)"
      R"("component":{"name":"OCPPCommCtrlr"},"variable":{"name":"HeartbeatInterval"}}]}])",
      &pending);
  ASSERT_TRUE(r) << r.error().description;
  const auto* result = r->as<v201::GetVariablesResponse>();
  ASSERT_NE(result, nullptr);
  ASSERT_EQ(result->get_variable_result.size(), 1u);
  EXPECT_EQ(result->get_variable_result[0].attribute_status,
            v201::GetVariableStatusEnum::kAccepted);
  EXPECT_EQ(*result->get_variable_result[0].attribute_value, "60");
}

TEST_F(FramingTest, CallResultForAnUnknownIdIsIgnoredInEveryVersion) {
  const PendingCall pending{"c-1", find_message(Version::k16, "Reset")};
  for (Version v : {Version::k16, Version::k201, Version::k21}) {
    auto e = error(v, R"([3,"other",{"status":"Accepted"}])", &pending);
    EXPECT_EQ(e.reply, Reply::kNone);
    EXPECT_NE(e.description.find("other"), std::string::npos);
    auto none = error(v, R"([3,"c-1",{"status":"Accepted"}])", nullptr);
    EXPECT_EQ(none.reply, Reply::kNone);
  }
}

TEST_F(FramingTest, InvalidCallResultPayloadIsACallResultErrorOnlyIn21) {
  const PendingCall p16{"c-1", find_message(Version::k16, "Reset")};
  EXPECT_EQ(error(Version::k16, R"([3,"c-1",{"status":"Maybe"}])", &p16).reply, Reply::kNone);
  const PendingCall p21{"c-1", find_message(Version::k21, "Reset")};
  auto e = error(Version::k21, R"([3,"c-1",{"status":"Maybe"}])", &p21);
  EXPECT_EQ(e.reply, Reply::kCallResultError);
  EXPECT_EQ(e.code, RpcErrorCode::kPropertyConstraintViolation);
  EXPECT_EQ(e.message_id, "c-1");
}

TEST_F(FramingTest, DecodesCallErrorsWithAndWithoutDetails) {
  auto r = decode(Version::k16, R"([4,"9","NotSupported","no",{"a":[1,"x"]}])");
  ASSERT_TRUE(r) << r.error().description;
  EXPECT_EQ(r->type, MessageType::kCallError);
  EXPECT_EQ(r->error_code, "NotSupported");
  EXPECT_EQ(r->error_description, "no");
  EXPECT_EQ(r->error_details, R"({"a":[1,"x"]})");
  auto short_form = decode(Version::k201, R"([4,"9","InternalError",""])");
  ASSERT_TRUE(short_form) << short_form.error().description;
  EXPECT_EQ(short_form->error_details, "");
}

TEST_F(FramingTest, MalformedJsonIsFormationViolationIn16AndRpcFrameworkErrorIn2x) {
  auto e16 = error(Version::k16, "[2,\"1\",");
  EXPECT_EQ(name(e16, Version::k16), "FormationViolation");
  EXPECT_EQ(e16.reply, Reply::kCallError);
  auto e201 = error(Version::k201, "{nope");
  EXPECT_EQ(name(e201, Version::k201), "RpcFrameworkError");
  EXPECT_EQ(e201.message_id, "-1");
  EXPECT_FALSE(e201.message_id_known);
}

TEST_F(FramingTest, BrokenPayloadJsonKeepsTheIdAndIsAFormatViolation) {
  auto e = error(Version::k201, R"([2,"abc","Heartbeat",{"a":tru])");
  EXPECT_EQ(name(e, Version::k201), "FormatViolation");
  EXPECT_EQ(e.message_id, "abc");
  EXPECT_TRUE(e.message_id_known);
}

TEST_F(FramingTest, NotAnArrayWrongElementCountAndWrongTypesAreFrameErrors) {
  for (std::string_view bad : {R"({"a":1})", R"("text")", R"([2,"1","Heartbeat"])",
                               R"([2,"1","Heartbeat",{},{}])", R"(["2","1","Heartbeat",{}])",
                               R"([2,1,"Heartbeat",{}])", R"([2.0,"1","Heartbeat",{}])", "[]"}) {
    auto e = error(Version::k21, bad);
    EXPECT_EQ(name(e, Version::k21), "RpcFrameworkError") << bad;
    EXPECT_EQ(e.reply, Reply::kCallError) << bad;
  }
}

TEST_F(FramingTest, PayloadThatIsNotAnObjectIsAFormatViolation) {
  auto e = error(Version::k16, R"([2,"1","Heartbeat",[]])");
  EXPECT_EQ(name(e, Version::k16), "FormationViolation");
  EXPECT_EQ(e.message_id, "1");
}

TEST_F(FramingTest, MessageIdsOfUpTo36CharactersOnly) {
  const std::string id36(36, 'a');
  EXPECT_TRUE(decode(Version::k16, "[2,\"" + id36 + "\",\"Heartbeat\",{}]"));
  auto e = error(Version::k201, "[2,\"" + id36 + "b\",\"Heartbeat\",{}]");
  EXPECT_EQ(name(e, Version::k201), "RpcFrameworkError");
  // Not a usable id: echoing it would make the CALLERROR itself invalid.
  EXPECT_EQ(e.message_id, "-1");
  EXPECT_NE(e.description.find(id36), std::string::npos);
}

TEST_F(FramingTest, UnknownActionIsNotImplementedWithTheIdEchoed) {
  auto e = error(Version::k16, R"([2,"7","FooBar",{}])");
  EXPECT_EQ(e.code, RpcErrorCode::kNotImplemented);
  EXPECT_EQ(e.message_id, "7");
  EXPECT_EQ(e.reply, Reply::kCallError);
  // Action names are case-sensitive.
  EXPECT_EQ(error(Version::k16, R"([2,"7","heartbeat",{}])").code, RpcErrorCode::kNotImplemented);
}

TEST_F(FramingTest, ActionInTheWrongDirectionIsNotSupported) {
  auto e = error(Version::k16, R"([2,"7","Reset",{"type":"Hard"}])");
  EXPECT_EQ(e.code, RpcErrorCode::kNotSupported);
  // The charger's side accepts it.
  EXPECT_TRUE(decoder_.decode(Version::k16, Role::kCharger, R"([2,"7","Reset",{"type":"Hard"}])"));
  // DataTransfer goes both ways.
  EXPECT_TRUE(decode(Version::k16, R"([2,"7","DataTransfer",{"vendorId":"x"}])"));
}

TEST_F(FramingTest, UnknownMessageTypeIsIgnoredIn16And21AndAnsweredIn201) {
  auto e16 = error(Version::k16, R"([7,"1","Heartbeat",{}])");
  EXPECT_EQ(e16.reply, Reply::kNone);
  auto e201 = error(Version::k201, R"([7,"1","Heartbeat",{}])");
  EXPECT_EQ(e201.reply, Reply::kCallError);
  EXPECT_EQ(name(e201, Version::k201), "MessageTypeNotSupported");
  EXPECT_EQ(e201.message_id, "1");
  EXPECT_EQ(error(Version::k21, R"([7,"1","Heartbeat",{}])").reply, Reply::kNone);
  // 5 and 6 exist only in 2.1.
  EXPECT_EQ(error(Version::k201, R"([6,"1","NotifyPeriodicEventStream",{}])").code,
            RpcErrorCode::kMessageTypeNotSupported);
}

TEST_F(FramingTest, SendCarriesOnlySendMessagesIn21) {
  auto r =
      decode(Version::k21, R"([6,"s1","NotifyPeriodicEventStream",{"id":3,"pending":0,)"
                           R"("basetime":"2025-03-01T10:00:00Z","data":[{"t":0,"v":"230.1"}]}])");
  ASSERT_TRUE(r) << r.error().description;
  EXPECT_EQ(r->type, MessageType::kSend);
  auto as_call = error(Version::k21, R"([2,"s1","NotifyPeriodicEventStream",{"id":3,"pending":0,)"
                                     R"("basetime":"2025-03-01T10:00:00Z","data":[]}])");
  EXPECT_EQ(as_call.code, RpcErrorCode::kNotSupported);
  auto bad_send = error(Version::k21, R"([6,"s1","Heartbeat",{}])");
  EXPECT_EQ(bad_send.reply, Reply::kNone);  // a SEND is never answered
}

TEST_F(FramingTest, TrailingDataAfterTheFrameIsRejected) {
  auto e = error(Version::k201, R"([2,"1","Heartbeat",{}] [])");
  EXPECT_EQ(name(e, Version::k201), "RpcFrameworkError");
  EXPECT_TRUE(decode(Version::k201, "  [2,\"1\",\"Heartbeat\",{}]\n"));
}

TEST_F(FramingTest, CallResultErrorIsA21Frame) {
  auto r = decode(Version::k21, R"([5,"r1","FormatViolation","bad",{}])");
  ASSERT_TRUE(r) << r.error().description;
  EXPECT_EQ(r->type, MessageType::kCallResultError);
}

TEST(EncoderFrames, WritesEveryFrameTypeAndErrorNamesPerVersion) {
  Encoder e;
  v16::HeartbeatResponse hb{};
  hb.current_time = DateTime(DateTime::TimePoint(std::chrono::milliseconds(1764583200123)));
  EXPECT_EQ(e.result("1", hb), R"([3,"1",{"currentTime":"2025-12-01T10:00:00.123Z"}])");
  EXPECT_EQ(e.error(Version::k16, "1", RpcErrorCode::kOccurrenceConstraintViolation, "x"),
            R"([4,"1","OccurenceConstraintViolation","x",{}])");
  EXPECT_EQ(e.error(Version::k201, "-1", RpcErrorCode::kRpcFrameworkError, "a\"b"),
            R"([4,"-1","RpcFrameworkError","a\"b",{}])");
  EXPECT_EQ(e.result_error("r", RpcErrorCode::kFormatViolation, "d"),
            R"([5,"r","FormatViolation","d",{}])");
  v16::ResetRequest reset{};
  reset.type = v16::ResetType::kHard;
  EXPECT_EQ(e.call("m1", reset), R"([2,"m1","Reset",{"type":"Hard"}])");
}

TEST(EncoderFrames, CutsErrorDescriptionsTo255Characters) {
  Encoder e;
  const std::string longer(300, 'x');
  const std::string_view frame = e.error(Version::k201, "1", RpcErrorCode::kGenericError, longer);
  EXPECT_NE(frame.find(std::string(255, 'x') + "\""), std::string_view::npos);
  EXPECT_EQ(frame.find(std::string(256, 'x')), std::string_view::npos);
}

TEST(RpcErrors, ReadsEverySpellingOfEveryVersion) {
  EXPECT_EQ(parse_rpc_error("OccurenceConstraintViolation"),
            RpcErrorCode::kOccurrenceConstraintViolation);
  EXPECT_EQ(parse_rpc_error("OccurrenceConstraintViolation"),
            RpcErrorCode::kOccurrenceConstraintViolation);
  EXPECT_EQ(parse_rpc_error("FormationViolation"), RpcErrorCode::kFormatViolation);
  EXPECT_EQ(parse_rpc_error("FormatViolation"), RpcErrorCode::kFormatViolation);
  EXPECT_FALSE(parse_rpc_error("Whatever"));
}

}  // namespace
}  // namespace switchyard::ocpp
