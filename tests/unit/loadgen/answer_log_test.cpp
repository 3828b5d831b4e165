// --answers-log: one line per answer and per CALL unanswered at a close, the session's end with
// its transaction and energy, and a clear error for a file it cannot create.
#include "loadgen/answer_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace switchyard::loadgen {
namespace {

std::string temp_path() {
  return testing::TempDir() + "answers-" + std::to_string(::getpid()) + ".log";
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AnswerLogTest, WritesALinePerAnswerWithTheSessionsEnd) {
  const std::string path = temp_path();
  {
    auto log = AnswerLog::open(path);
    ASSERT_TRUE(log) << log.error().message;
    (*log)->record("lg-000001", "17", "Heartbeat", Answer::kResult);
    (*log)->record("lg-000001", "18", "MeterValues", Answer::kError);
    (*log)->record("lg-000002", "9", "StopTransaction", Answer::kResult, SessionEnd{"42", 1234});
    (*log)->record("lg-000002", "10", "StatusNotification", Answer::kUnansweredAtClose);
  }
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 4U);
  std::istringstream first(lines[0]);
  long long ms = 0;
  std::string charger, id, action, outcome;
  first >> ms >> charger >> id >> action >> outcome;
  EXPECT_GT(ms, 1'700'000'000'000LL);  // unix milliseconds
  EXPECT_EQ(charger, "lg-000001");
  EXPECT_EQ(id, "17");
  EXPECT_EQ(action, "Heartbeat");
  EXPECT_EQ(outcome, "R");
  EXPECT_NE(lines[1].find(" lg-000001 18 MeterValues E"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(" lg-000002 9 StopTransaction R 42 1234"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find(" lg-000002 10 StatusNotification U"), std::string::npos) << lines[3];
  std::remove(path.c_str());
}

TEST(AnswerLogTest, LinesFromManyThreadsStayWhole) {
  const std::string path = temp_path();
  {
    auto log = AnswerLog::open(path);
    ASSERT_TRUE(log) << log.error().message;
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 1000; ++i) {
          (*log)->record("charger-" + std::to_string(t), std::to_string(i), "Heartbeat",
                         Answer::kResult);
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 4000U);
  for (const auto& line : lines) {
    ASSERT_TRUE(line.ends_with(" Heartbeat R")) << line;
  }
  std::remove(path.c_str());
}

TEST(AnswerLogTest, ALineThatCouldNotBeWrittenMakesTheLogUntrusted) {
  auto log = AnswerLog::open("/dev/full");  // every write fails: no space left
  ASSERT_TRUE(log) << log.error().message;
  for (int i = 0; i < 10'000; ++i) {
    (*log)->record("lg-000001", std::to_string(i), "Heartbeat", Answer::kResult);
  }
  auto closed = (*log)->close();
  ASSERT_FALSE(closed);
  EXPECT_NE(closed.error().message.find("incomplete"), std::string::npos) << closed.error().message;
}

TEST(AnswerLogTest, ACreatableFileIsRequired) {
  auto log = AnswerLog::open("/nonexistent-dir/answers.log");
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(log.error().message.find("--answers-log /nonexistent-dir/answers.log"),
            std::string::npos)
      << log.error().message;
}

}  // namespace
}  // namespace switchyard::loadgen
