// The event log's segment files: numbering across segments and reopenings, a torn tail cut off
// at open, a damaged record refused by a reader, one writer per directory.
#include "common/runtime/bus/log_segments.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <limits>

#include "support/environment.h"

namespace switchyard::bus::segments {
namespace {

struct Read {
  std::int64_t seq;
  std::string topic;
  std::string key;
  std::string value;
};

class LogSegmentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / testing::unique_name("segments")).string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Segments> open(std::int64_t segment_bytes = Segments::kDefaultSegmentBytes) {
    auto log = Segments::open(dir_, segment_bytes);
    EXPECT_TRUE(log) << log.error().message;
    return log ? std::move(*log) : nullptr;
  }

  // Appends `count` values "<prefix><i>", one batch; the first one's number.
  static std::int64_t append(Segments& log, int count, const std::string& prefix = "v") {
    std::vector<std::string> values;
    for (int i = 0; i < count; ++i) values.push_back(prefix + std::to_string(i));
    std::vector<Entry> entries;
    for (const auto& v : values) entries.push_back(Entry{"t", "k", v, 1234});
    auto first = log.append(entries);
    EXPECT_TRUE(first) << first.error().message;
    return first ? *first : -1;
  }

  static std::vector<Read> read_all(const Segments& log, std::int64_t after, Cursor& cursor,
                                    std::size_t max = 1000) {
    std::vector<Read> out;
    auto n = log.read(cursor, after, max, [&](const Record& r) {
      out.push_back(Read{r.seq, std::string(r.topic), std::string(r.key), std::string(r.value)});
      EXPECT_EQ(r.published_at_ms, 1234);
    });
    EXPECT_TRUE(n) << n.error().message;
    if (n) {
      EXPECT_EQ(*n, out.size());
    }
    return out;
  }

  std::vector<std::filesystem::path> files() const {
    std::vector<std::filesystem::path> out;
    for (const auto& f : std::filesystem::directory_iterator(dir_)) {
      if (f.path().extension() == ".log") out.push_back(f.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
};

TEST_F(LogSegmentsTest, RecordsAreNumberedFromOneAndReadBackInOrder) {
  auto log = open();
  EXPECT_EQ(log->last_seq(), 0);
  EXPECT_EQ(append(*log, 3), 1);
  EXPECT_EQ(append(*log, 2, "w"), 4);
  EXPECT_EQ(log->last_seq(), 5);
  Cursor cursor;
  const auto all = read_all(*log, 0, cursor);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].value, "v0");
  EXPECT_EQ(all[4].value, "w1");
  EXPECT_EQ(all[4].seq, 5);
  EXPECT_EQ(all[0].topic, "t");
  EXPECT_EQ(all[0].key, "k");
  // From the middle, with a cursor that was elsewhere, and at most two.
  const auto some = read_all(*log, 2, cursor, 2);
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].seq, 3);
  EXPECT_EQ(some[1].seq, 4);
  EXPECT_TRUE(read_all(*log, 5, cursor).empty());
}

TEST_F(LogSegmentsTest, AFullSegmentRollsOverAndReadersCrossIntoTheNext) {
  auto log = open(256);  // a few records per segment
  for (int batch = 0; batch < 10; ++batch) append(*log, 3, "b" + std::to_string(batch) + "-");
  EXPECT_GT(log->segment_count(), 3u);
  EXPECT_EQ(files().size(), log->segment_count());
  EXPECT_EQ(files().front().filename().string(), "00000000000000000001.log");
  Cursor cursor;
  std::vector<Read> all;
  for (std::int64_t after = 0;;) {  // in small reads, as a consumer does
    auto part = read_all(*log, after, cursor, 4);
    if (part.empty()) break;
    after = part.back().seq;
    all.insert(all.end(), part.begin(), part.end());
  }
  ASSERT_EQ(all.size(), 30u);
  for (std::size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i].seq, static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(all[29].value, "b9-2");
  // A reopened log numbers on from the last segment, and reads start anywhere.
  log.reset();
  log = open(256);
  EXPECT_EQ(log->last_seq(), 30);
  EXPECT_EQ(append(*log, 1, "after"), 31);
  Cursor fresh;
  const auto from_middle = read_all(*log, 17, fresh);
  ASSERT_EQ(from_middle.size(), 14u);
  EXPECT_EQ(from_middle.front().seq, 18);
  EXPECT_EQ(from_middle.back().value, "after0");
}

// The retention deletes the oldest segments whose records are all handled and whose files are
// old enough, never the newest; a reader that was in a deleted segment reads on from the oldest
// one left, and a reopened log starts there.
TEST_F(LogSegmentsTest, DropBeforeDeletesOldHandledSegmentsButNeverTheNewest) {
  auto log = open(256);  // 9 records per segment: 1-9, 10-18, 19-27, 28-30
  for (int batch = 0; batch < 10; ++batch) append(*log, 3, "b" + std::to_string(batch) + "-");
  ASSERT_EQ(log->segment_count(), 4u);
  const auto bytes = log->bytes();
  Cursor cursor;
  ASSERT_EQ(read_all(*log, 0, cursor, 9).size(), 9u);  // the cursor stays in the first segment
  const auto later = std::chrono::system_clock::now() + std::chrono::seconds(1);
  // Not all of the first segment is handled; files written after the limit stay.
  auto none = log->drop_before(5, later);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(none->segments, 0u);
  none = log->drop_before(30, std::chrono::system_clock::now() - std::chrono::hours(1));
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(none->segments, 0u);
  EXPECT_EQ(files().size(), 4u);
  // Handled through 20: 1-9 and 10-18 go, 19-27 stays (27 is not handled); one a call here.
  auto one = log->drop_before(20, later, 1);
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->segments, 1u);
  EXPECT_EQ(log->first_seq(), 10);
  auto two = log->drop_before(20, later);
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(two->segments, 1u);
  EXPECT_EQ(one->records + two->records, 18);
  EXPECT_EQ(log->first_seq(), 19);
  EXPECT_EQ(log->last_seq(), 30);
  EXPECT_EQ(log->bytes(), bytes - one->bytes - two->bytes);
  ASSERT_EQ(files().size(), 2u);
  EXPECT_EQ(files().front().filename().string(), "00000000000000000019.log");
  // The cursor's segment is gone: it reads on from the oldest one left.
  const auto on = read_all(*log, 9, cursor, 4);
  ASSERT_EQ(on.size(), 4u);
  EXPECT_EQ(on.front().seq, 19);
  // Everything handled: all but the newest segment go; appends go on in it.
  auto rest = log->drop_before(std::numeric_limits<std::int64_t>::max(), later);
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(rest->segments, 1u);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(append(*log, 1, "after"), 31);
  log.reset();
  log = open(256);
  EXPECT_EQ(log->first_seq(), 28);
  EXPECT_EQ(log->last_seq(), 31);
  Cursor fresh;
  const auto all = read_all(*log, 0, fresh);  // a position before the first record reads it
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.front().seq, 28);
  EXPECT_EQ(all.back().value, "after0");
}

// A batch whose write was torn (its sync never returned, so nobody heard it was durable): the
// next open cuts it off and numbers on from the last whole record.
TEST_F(LogSegmentsTest, ATornTailIsCutOffAtOpen) {
  {
    auto log = open();
    append(*log, 4);
  }
  const auto file = files().back();
  const auto whole = std::filesystem::file_size(file);
  {
    std::FILE* f = std::fopen(file.c_str(), "ab");
    ASSERT_NE(f, nullptr);
    const char partial[20] = {42};  // half a header
    std::fwrite(partial, 1, sizeof partial, f);
    std::fclose(f);
  }
  auto log = open();
  EXPECT_EQ(log->last_seq(), 4);
  EXPECT_EQ(std::filesystem::file_size(file), whole);
  EXPECT_EQ(append(*log, 1, "next"), 5);
  Cursor cursor;
  const auto all = read_all(*log, 0, cursor);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.back().value, "next0");
}

// The last record's bytes changed on disk (its CRC no longer matches): open cuts from there.
TEST_F(LogSegmentsTest, ALastRecordThatFailsItsCrcIsCutOffAtOpen) {
  {
    auto log = open();
    append(*log, 3);
  }
  const auto file = files().back();
  const auto size = std::filesystem::file_size(file);
  {
    const int fd = ::open(file.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "X", 1, static_cast<off_t>(size - 1)), 1);  // last value byte
    ::close(fd);
  }
  auto log = open();
  EXPECT_EQ(log->last_seq(), 2);
}

// A reader that meets a damaged record says so and hands out nothing of it.
TEST_F(LogSegmentsTest, AReaderRefusesADamagedRecord) {
  auto log = open();
  append(*log, 3);
  const auto file = files().back();
  {
    const int fd = ::open(file.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "\xff\xff\xff\xff", 4, 0), 4);  // the first record's CRC
    ::close(fd);
  }
  Cursor cursor;
  std::size_t handed = 0;
  auto r = log->read(cursor, 0, 10, [&](const Record&) { ++handed; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("record 1 is damaged"), std::string::npos) << r.error().message;
  EXPECT_EQ(handed, 0u);
}

// A segment cut short behind the log's back (not by it): the reader says so and does not spin.
TEST_F(LogSegmentsTest, ASegmentShorterThanItsSyncedEndIsAnError) {
  auto log = open();
  append(*log, 3);
  std::filesystem::resize_file(files().back(), 10);
  Cursor cursor;
  auto r = log->read(cursor, 0, 10, [](const Record&) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("shorter than its synced end"), std::string::npos)
      << r.error().message;
}

TEST_F(LogSegmentsTest, OneWriterPerDirectory) {
  auto log = open();
  auto second = Segments::open(dir_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  log.reset();
  EXPECT_TRUE(Segments::open(dir_)) << "the lock goes with the first";
}

// An import keeps the numbers of what it brings: an empty log starts where it is told.
TEST_F(LogSegmentsTest, AnEmptyLogStartsAtTheNumberItIsGiven) {
  auto log = open();
  ASSERT_TRUE(log->start_at(41));
  EXPECT_EQ(log->last_seq(), 40);
  EXPECT_EQ(append(*log, 2), 41);
  EXPECT_EQ(files().size(), 1u);
  EXPECT_EQ(files().front().filename().string(), "00000000000000000041.log");
  auto again = log->start_at(7);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  // A new reader (position 0, or any before the first record) starts at the first record.
  Cursor cursor;
  const auto from_start = read_all(*log, 3, cursor);
  ASSERT_EQ(from_start.size(), 2u);
  EXPECT_EQ(from_start.front().seq, 41);
  log.reset();
  log = open();
  EXPECT_EQ(log->first_seq(), 41);
  EXPECT_EQ(log->last_seq(), 42);
}

// A crash inside start_at() can leave the old, empty first segment next to the new one: the
// next open removes it, and readers never loop on it.
TEST_F(LogSegmentsTest, AnEmptySegmentBeforeTheNewestIsRemovedAtOpen) {
  {
    auto log = open();
    ASSERT_TRUE(log->start_at(41));
    append(*log, 2);
  }
  {
    std::FILE* f = std::fopen((dir_ + "/00000000000000000001.log").c_str(), "w");
    std::fclose(f);
  }
  ASSERT_EQ(files().size(), 2u);
  auto log = open();
  EXPECT_EQ(files().size(), 1u);
  EXPECT_EQ(log->first_seq(), 41);
  Cursor cursor;
  EXPECT_EQ(read_all(*log, 0, cursor).size(), 2u);
}

// An event over the record limit is refused before anything is written; the log goes on.
TEST_F(LogSegmentsTest, AnEventOverTheLimitIsRefusedAndNothingIsWritten) {
  auto log = open();
  const std::string huge(kMaxRecordBytes + 1, 'x');
  auto r = log->append({Entry{"t", "k", "fits", 1234}, Entry{"t", "k", huge, 1234}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(log->last_seq(), 0);
  EXPECT_EQ(log->bytes(), 0);
  EXPECT_EQ(append(*log, 1), 1);
}

TEST_F(LogSegmentsTest, ARecordLargerThanTheReadChunkIsReadWhole) {
  auto log = open();
  const std::string big(3 << 20, 'x');
  ASSERT_TRUE(log->append({Entry{"t", "k", "small", 1234}, Entry{"t", "k", big, 1234}}));
  append(*log, 1, "tail");
  Cursor cursor;
  const auto all = read_all(*log, 0, cursor);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].value.size(), big.size());
  EXPECT_EQ(all[2].value, "tail0");
  log.reset();
  EXPECT_EQ(open()->last_seq(), 3);
}

// The record checksum is CRC-32C, the same with the instruction and without it.
TEST(LogSegmentsCrc, IsCrc32cWithAndWithoutTheInstruction) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32c(check.data(), check.size()), 0xe3069283u);
  EXPECT_EQ(crc32c_bitwise(check.data(), check.size()), 0xe3069283u);
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes.push_back(static_cast<char>(i * 7));
  for (std::size_t size : {0u, 1u, 7u, 8u, 9u, 63u, 1000u}) {
    EXPECT_EQ(crc32c(bytes.data(), size), crc32c_bitwise(bytes.data(), size)) << size;
  }
}

}  // namespace
}  // namespace switchyard::bus::segments
