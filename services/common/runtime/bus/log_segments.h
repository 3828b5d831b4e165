// The event log's records on disk (internal to the bus library): append-only segment files in
// one directory, each named after the sequence number of its first record, records numbered
// without gaps across them. One writer appends a batch with one write() and one fdatasync(),
// so a durable event costs its bytes and a share of one sync instead of a B-tree insert
// (tests/bench/event_log_bench). Each record carries a CRC-32 of itself: opening the log
// drops a torn tail (a batch whose sync never returned, so no publisher was told it was
// durable), and a reader refuses a damaged record. A lock file keeps a second process from
// writing the same directory. Readers run on other threads and see what the writer has synced.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace switchyard::bus::segments {

// One record as stored; the views point into a read buffer, valid during the callback.
struct Record {
  std::int64_t seq = 0;
  std::int64_t published_at_ms = 0;
  std::string_view topic;
  std::string_view key;
  std::string_view value;
};

struct Entry {
  std::string_view topic;
  std::string_view key;
  std::string_view value;
  std::int64_t published_at_ms = 0;
};

// The largest topic + key + value a record holds; a larger one is refused, never written.
inline constexpr std::size_t kMaxRecordBytes = std::size_t{64} << 20;

class Segments;

// CRC-32C (Castagnoli) of the bytes, as each record carries it: with the SSE 4.2 instruction
// where the CPU has it, else crc32c_bitwise().
std::uint32_t crc32c(const char* data, std::size_t size);
std::uint32_t crc32c_bitwise(const char* data, std::size_t size);

// Where a reader is: the reader's own descriptor of the segment it reads and the next record's
// place in it. A cursor that is not where the next read starts looks the place up again.
class Cursor {
 public:
  Cursor() = default;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor();

 private:
  friend class Segments;
  void close();
  int fd_ = -1;
  std::int64_t base_ = 0;      // first sequence number of the open segment
  std::int64_t offset_ = 0;    // byte offset of record next_seq_ in it
  std::int64_t next_seq_ = 0;  // the record at offset_
  std::string buffer_;
};

class Segments {
 public:
  // A new segment starts once the current one holds this many bytes.
  static constexpr std::int64_t kDefaultSegmentBytes = std::int64_t{64} << 20;

  // Opens `dir` (creating it), takes its lock and checks the newest segment: from its first
  // record that is incomplete, fails its CRC or is numbered wrong, it is cut off (a batch whose
  // sync never returned; logged with its size). kUnavailable: another process (or another
  // Segments object) holds the lock, or the file system failed.
  static Result<std::unique_ptr<Segments>> open(const std::string& dir,
                                                std::int64_t segment_bytes = kDefaultSegmentBytes);
  ~Segments();
  Segments(const Segments&) = delete;
  Segments& operator=(const Segments&) = delete;

  // Writer only. Numbers the entries from last_seq() + 1 on, writes them with one write() and
  // makes them durable with one fdatasync(); the first one's number. kInvalidArgument (nothing
  // written): an entry over kMaxRecordBytes. On a write or sync error the batch is cut off the
  // file again and the cut synced. When even that fails, every later append fails until the
  // log is opened again, and the batch's outcome is unknown, as a Kafka delivery's after a
  // timeout: its publishers heard of an error, yet a batch that reached the page cache whole
  // is read back at the next open (consumers are idempotent on the event id).
  Result<std::int64_t> append(const std::vector<Entry>& entries);
  // Writer only, on an empty log: the first record appended gets number `seq` (an import that
  // keeps the numbers of the records it brings).
  Result<void> start_at(std::int64_t seq);

  // What drop_before() deleted.
  struct Dropped {
    std::size_t segments = 0;
    std::int64_t bytes = 0;
    std::int64_t records = 0;
  };
  // Writer only. Deletes the oldest segments, in order, while every record of the next one to go
  // is at or before `handled` and its file was last written before `written_before`; never the
  // newest segment (the one appended to). A reader positioned in a deleted segment reads on from
  // the oldest one left; one that had not read it starts there (as for a position before the
  // log's first record). kUnavailable: a file could not be removed (it and those after it are
  // no longer read until the log is opened again, which finds them).
  // At most `max_segments` go in one call (a pass over a large old log would hold the writer).
  Result<Dropped> drop_before(std::int64_t handled,
                              std::chrono::system_clock::time_point written_before,
                              std::size_t max_segments = SIZE_MAX);

  // The newest durable record's number (first_seq() - 1 when there is none).
  std::int64_t last_seq() const;
  std::int64_t first_seq() const;
  std::int64_t bytes() const;  // of every segment
  std::size_t segment_count() const;
  const std::string& dir() const { return dir_; }

  // Calls `each` for the records after `after`, in order, up to `max` of them and no further
  // than the newest durable one; how many. Any thread, one cursor per reader. A position before
  // the log's first record reads from that record (a log imported with its numbers starts
  // after 1). kInternal: a damaged record (CRC, length or numbering).
  Result<std::size_t> read(Cursor& cursor, std::int64_t after, std::size_t max,
                           const std::function<void(const Record&)>& each) const;

 private:
  struct Segment {
    std::int64_t base = 0;   // number of its first record
    std::int64_t bytes = 0;  // durable bytes
  };
  Segments(std::string dir, int lock_fd, std::int64_t segment_bytes);
  Result<void> load();
  Result<void> roll(std::int64_t base);
  std::string path_of(std::int64_t base) const;
  // The segment that holds record `seq` (its base ≤ seq), under mutex_.
  Segment locate(std::int64_t seq) const;

  const std::string dir_;
  const int lock_fd_;
  const std::int64_t segment_bytes_;
  int write_fd_ = -1;  // the newest segment, writer only
  std::string write_buffer_;
  bool broken_ = false;  // a failed batch may still be in the file: no more appends

  mutable std::mutex mutex_;       // the fields below: the writer changes them, readers look
  std::vector<Segment> segments_;  // oldest first, never empty once open
  std::int64_t next_seq_ = 1;
  std::int64_t total_bytes_ = 0;
};

}  // namespace switchyard::bus::segments
