// The event log's segment files (see the header). A record: a 32-byte header (CRC-32 of all that
// follows it in the record, the length of topic + key + value, the sequence number, the publish
// time in ms, the topic's and the key's length; little-endian as this machine writes them) and
// then topic, key and value.
#include "common/runtime/bus/log_segments.h"

#include <fcntl.h>
#include <nmmintrin.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/runtime/core/log.h"

namespace switchyard::bus::segments {
namespace {

constexpr std::size_t kHeader = 32;
constexpr std::uint32_t kMaxRecordBody = kMaxRecordBytes;  // larger: damage, not a record
constexpr std::size_t kReadChunk = 1 << 20;
constexpr std::size_t kKeptWriteBuffer = 256 << 10;  // bytes of a batch kept for the next
constexpr const char* kSuffix = ".log";

std::unexpected<Error> os_error(ErrorCode code, const std::string& what) {
  return make_error(code, "event log " + what + ": " + std::strerror(errno));
}

template <typename T>
void put(std::string& out, std::size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof value);
}

template <typename T>
T get(const char* in) {
  T value;
  std::memcpy(&value, in, sizeof value);
  return value;
}

// CRC-32C with the SSE 4.2 instruction: 8 bytes a step, a tenth of zlib's CRC-32 time on a
// 900-byte event (where zlib's took 3 % of the standalone's CPU).
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const char* data, std::size_t size) {
  std::uint64_t crc = 0xffffffffu;
  for (; size >= 8; data += 8, size -= 8) crc = _mm_crc32_u64(crc, get<std::uint64_t>(data));
  auto crc32 = static_cast<std::uint32_t>(crc);
  for (; size > 0; ++data, --size) crc32 = _mm_crc32_u8(crc32, static_cast<std::uint8_t>(*data));
  return crc32 ^ 0xffffffffu;
}

}  // namespace

// The same CRC a bit at a time, for a CPU without SSE 4.2.
std::uint32_t crc32c_bitwise(const char* data, std::size_t size) {
  std::uint32_t crc = 0xffffffffu;
  for (; size > 0; ++data, --size) {
    crc ^= static_cast<std::uint8_t>(*data);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

std::uint32_t crc32c(const char* data, std::size_t size) {
  static const bool sse42 = __builtin_cpu_supports("sse4.2");
  return sse42 ? crc32c_sse42(data, size) : crc32c_bitwise(data, size);
}

namespace {

void encode(std::string& out, std::int64_t seq, const Entry& e) {
  const std::size_t start = out.size();
  const std::size_t body = e.topic.size() + e.key.size() + e.value.size();
  out.resize(start + kHeader);
  put<std::uint32_t>(out, start + 4, static_cast<std::uint32_t>(body));
  put<std::int64_t>(out, start + 8, seq);
  put<std::int64_t>(out, start + 16, e.published_at_ms);
  put<std::uint32_t>(out, start + 24, static_cast<std::uint32_t>(e.topic.size()));
  put<std::uint32_t>(out, start + 28, static_cast<std::uint32_t>(e.key.size()));
  out.append(e.topic).append(e.key).append(e.value);
  put<std::uint32_t>(out, start, crc32c(out.data() + start + 4, kHeader - 4 + body));
}

enum class Parsed { kRecord, kIncomplete, kDamaged };

// The record at the start of [data, data + size): kIncomplete when it runs past the end
// (`needed` then says how many bytes it takes), kDamaged when its length or CRC is wrong.
Parsed parse(const char* data, std::size_t size, Record& record, std::size_t& needed) {
  if (size < kHeader) {
    needed = kHeader;
    return Parsed::kIncomplete;
  }
  const auto body = get<std::uint32_t>(data + 4);
  const auto topic = get<std::uint32_t>(data + 24);
  const auto key = get<std::uint32_t>(data + 28);
  if (body > kMaxRecordBody || std::uint64_t{topic} + key > body) return Parsed::kDamaged;
  needed = kHeader + body;
  if (size < needed) return Parsed::kIncomplete;
  if (get<std::uint32_t>(data) != crc32c(data + 4, needed - 4)) return Parsed::kDamaged;
  record.seq = get<std::int64_t>(data + 8);
  record.published_at_ms = get<std::int64_t>(data + 16);
  const char* bytes = data + kHeader;
  record.topic = {bytes, topic};
  record.key = {bytes + topic, key};
  record.value = {bytes + topic + key, body - topic - key};
  return Parsed::kRecord;
}

// Why scan_records() stopped.
enum class Stop { kEnd, kAsked, kIncomplete, kDamaged, kShortRead, kReadError };

// Reads the records of [offset, end) of `fd` in chunks (kReadChunk, or one record when it is
// larger) into `buffer`, and calls `each` for each whole record, whose views are valid during
// the call; `each` returns false to stop before that record. `offset` ends just past the last
// record taken. kIncomplete: a record runs past `end`; kShortRead: the file ends before `end`.
Stop scan_records(int fd, std::int64_t& offset, std::int64_t end, std::string& buffer,
                  const std::function<bool(const Record&)>& each) {
  while (offset < end) {
    buffer.resize(static_cast<std::size_t>(std::min<std::int64_t>(
        static_cast<std::int64_t>(std::max(kReadChunk, buffer.size())), end - offset)));
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0) return Stop::kReadError;
    if (static_cast<std::size_t>(n) < buffer.size()) return Stop::kShortRead;
    std::size_t at = 0;
    while (at < buffer.size()) {
      Record record;
      std::size_t needed = 0;
      const auto parsed = parse(buffer.data() + at, buffer.size() - at, record, needed);
      if (parsed == Parsed::kIncomplete && offset + static_cast<std::int64_t>(at + needed) <= end) {
        if (at == 0) buffer.resize(needed);  // one record larger than the chunk
        break;                               // read on from this record
      }
      if (parsed != Parsed::kRecord || !each(record)) {
        offset += static_cast<std::int64_t>(at);
        return parsed == Parsed::kIncomplete ? Stop::kIncomplete
               : parsed == Parsed::kDamaged  ? Stop::kDamaged
                                             : Stop::kAsked;
      }
      at += needed;
    }
    offset += static_cast<std::int64_t>(at);
  }
  return Stop::kEnd;
}

bool write_all(int fd, const char* data, std::size_t size, std::int64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
}

bool sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Cursor::~Cursor() { close(); }

void Cursor::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Segments::Segments(std::string dir, int lock_fd, std::int64_t segment_bytes)
    : dir_(std::move(dir)), lock_fd_(lock_fd), segment_bytes_(segment_bytes) {}

Segments::~Segments() {
  if (write_fd_ >= 0) ::close(write_fd_);
  ::close(lock_fd_);  // releases the lock
}

std::string Segments::path_of(std::int64_t base) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020lld", static_cast<long long>(base));
  return dir_ + "/" + name + kSuffix;
}

Result<std::unique_ptr<Segments>> Segments::open(const std::string& dir,
                                                 std::int64_t segment_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kUnavailable, "event log " + dir + ": " + ec.message());
  // The directory's own entry is durable before anything in it is called durable (at every
  // open: an earlier one may have created it and stopped before the sync).
  if (!sync_dir(std::filesystem::absolute(dir).parent_path().string()))
    return os_error(ErrorCode::kUnavailable, "sync the parent of " + dir);
  const std::string lock_path = dir + "/lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return os_error(ErrorCode::kUnavailable, "lock " + lock_path);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    const bool held = errno == EWOULDBLOCK;
    auto error = os_error(ErrorCode::kUnavailable, "lock " + lock_path);
    ::close(lock_fd);
    if (held) {
      return make_error(ErrorCode::kUnavailable,
                        "event log " + dir + " is open in another process or object (" + lock_path +
                            " is locked); one writer at a time");
    }
    return error;
  }
  std::unique_ptr<Segments> log(new Segments(dir, lock_fd, segment_bytes));
  if (auto r = log->load(); !r) return std::unexpected(r.error());
  return log;
}

Result<void> Segments::load() {
  std::vector<std::int64_t> bases;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const auto name = entry.path().filename().string();
    if (name.size() != 20 + std::strlen(kSuffix) || !name.ends_with(kSuffix) ||
        !std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    bases.push_back(std::stoll(name.substr(0, 20)));
  }
  if (ec) return make_error(ErrorCode::kUnavailable, "event log " + dir_ + ": " + ec.message());
  std::sort(bases.begin(), bases.end());
  if (bases.empty()) {
    if (auto r = roll(1); !r) return r;
    next_seq_ = 1;
    return {};
  }
  for (std::int64_t base : bases) {
    struct stat st {};
    if (::stat(path_of(base).c_str(), &st) != 0)
      return os_error(ErrorCode::kUnavailable, "stat " + path_of(base));
    // An empty segment before the newest holds nothing (start_at() cut short by a crash).
    if (st.st_size == 0 && base != bases.back()) {
      ::unlink(path_of(base).c_str());
      continue;
    }
    segments_.push_back(Segment{base, st.st_size});
    total_bytes_ += st.st_size;
  }
  // The newest segment: every record whole and numbered on from its base, or cut there.
  Segment& last = segments_.back();
  write_fd_ = ::open(path_of(last.base).c_str(), O_RDWR | O_CLOEXEC);
  if (write_fd_ < 0) return os_error(ErrorCode::kUnavailable, "open " + path_of(last.base));
  std::string buffer;
  std::int64_t offset = 0;
  std::int64_t seq = last.base;
  const Stop stop = scan_records(write_fd_, offset, last.bytes, buffer, [&](const Record& r) {
    if (r.seq != seq) return false;  // numbered wrong: cut here
    ++seq;
    return true;
  });
  if (stop == Stop::kReadError || stop == Stop::kShortRead)
    return os_error(ErrorCode::kUnavailable, "read " + path_of(last.base));
  // Stopped early (incomplete, damaged or numbered wrong): the torn tail starts there.
  if (offset < last.bytes) {
    log::warn(
        "event log: cutting off a torn tail (a batch never synced, so never acknowledged)",
        {{"segment", path_of(last.base)}, {"bytes", last.bytes - offset}, {"after_seq", seq - 1}});
    if (::ftruncate(write_fd_, offset) != 0 || ::fdatasync(write_fd_) != 0)
      return os_error(ErrorCode::kUnavailable, "truncate " + path_of(last.base));
    total_bytes_ -= last.bytes - offset;
    last.bytes = offset;
  }
  next_seq_ = seq;
  return {};
}

Result<void> Segments::roll(std::int64_t base) {
  const std::string path = path_of(base);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return os_error(ErrorCode::kUnavailable, "create " + path);
  if (!sync_dir(dir_)) {
    auto error = os_error(ErrorCode::kUnavailable, "sync " + dir_);
    ::close(fd);
    ::unlink(path.c_str());
    return error;
  }
  if (write_fd_ >= 0) ::close(write_fd_);
  write_fd_ = fd;
  std::lock_guard lock(mutex_);
  segments_.push_back(Segment{base, 0});
  return {};
}

Result<void> Segments::start_at(std::int64_t seq) {
  {
    std::lock_guard lock(mutex_);
    if (segments_.size() != 1 || segments_.back().bytes != 0) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "event log " + dir_ + ": numbering can only be set on an empty log");
    }
    if (segments_.back().base == seq) return {};
  }
  const std::string old = path_of(segments_.back().base);
  if (auto r = roll(seq); !r) return r;
  {
    std::lock_guard lock(mutex_);
    segments_.erase(segments_.begin());
    next_seq_ = seq;
  }
  if (::unlink(old.c_str()) != 0 || !sync_dir(dir_))
    return os_error(ErrorCode::kUnavailable, "remove " + old);
  return {};
}

Result<std::int64_t> Segments::append(const std::vector<Entry>& entries) {
  if (broken_) {
    return make_error(ErrorCode::kUnavailable,
                      "event log " + dir_ +
                          ": a failed batch could not be cut off; appends fail until the log is "
                          "opened again");
  }
  for (const Entry& e : entries) {
    if (e.topic.size() + e.key.size() + e.value.size() > kMaxRecordBytes) {
      return make_error(ErrorCode::kInvalidArgument,
                        "event log: an event of " +
                            std::to_string(e.topic.size() + e.key.size() + e.value.size()) +
                            " bytes is over the limit of " + std::to_string(kMaxRecordBytes));
    }
  }
  std::int64_t first = 0;
  std::int64_t offset = 0;
  {
    std::lock_guard lock(mutex_);
    first = next_seq_;
    offset = segments_.back().bytes;
  }
  if (entries.empty()) return first;
  if (offset >= segment_bytes_) {
    if (auto r = roll(first); !r) return std::unexpected(r.error());
    offset = 0;
  }
  write_buffer_.clear();
  std::int64_t seq = first;
  for (const Entry& e : entries) encode(write_buffer_, seq++, e);
  if (!write_all(write_fd_, write_buffer_.data(), write_buffer_.size(), offset) ||
      ::fdatasync(write_fd_) != 0) {
    auto error = os_error(ErrorCode::kUnavailable, "append to " + path_of(first));
    // Nothing of a failed batch may stay: its publishers hear of the failure, and a record that
    // survived would come back as an event nobody was told about.
    if (::ftruncate(write_fd_, offset) != 0 || ::fdatasync(write_fd_) != 0) {
      broken_ = true;
      log::error("event log: cannot cut a failed batch off; appends fail until it is reopened",
                 {{"segment", path_of(first)}, {"error", std::strerror(errno)}});
    }
    return error;
  }
  const auto written = static_cast<std::int64_t>(write_buffer_.size());
  // A storm's batch (a thousand boots, ~1 MB) is not kept for the quiet that follows.
  if (write_buffer_.capacity() > kKeptWriteBuffer) std::string().swap(write_buffer_);
  std::lock_guard lock(mutex_);
  segments_.back().bytes += written;
  total_bytes_ += written;
  next_seq_ = seq;
  return first;
}

Result<Segments::Dropped> Segments::drop_before(
    std::int64_t handled, std::chrono::system_clock::time_point written_before,
    std::size_t max_segments) {
  std::vector<Segment> gone;
  Dropped dropped;
  {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (; n + 1 < segments_.size() && n < max_segments; ++n) {
      if (segments_[n + 1].base - 1 > handled) break;  // not every record of it is handled
      struct stat st {};
      if (::stat(path_of(segments_[n].base).c_str(), &st) != 0)
        return os_error(ErrorCode::kUnavailable, "stat " + path_of(segments_[n].base));
      const auto written = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::seconds(st.st_mtim.tv_sec) +
              std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
      if (written >= written_before) break;
      dropped.records += segments_[n + 1].base - segments_[n].base;
    }
    // Out of the list first: a reader that looks for a segment from now on does not find these.
    gone.assign(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
    for (const Segment& g : gone) total_bytes_ -= g.bytes;
  }
  for (const Segment& g : gone) {
    // A reader with the file open reads on from its descriptor.
    if (::unlink(path_of(g.base).c_str()) != 0 && errno != ENOENT)
      return os_error(ErrorCode::kUnavailable, "remove " + path_of(g.base));
    ++dropped.segments;
    dropped.bytes += g.bytes;
  }
  if (!gone.empty() && !sync_dir(dir_)) return os_error(ErrorCode::kUnavailable, "sync " + dir_);
  return dropped;
}

std::int64_t Segments::last_seq() const {
  std::lock_guard lock(mutex_);
  return next_seq_ - 1;
}

std::int64_t Segments::first_seq() const {
  std::lock_guard lock(mutex_);
  return segments_.front().base;
}

std::int64_t Segments::bytes() const {
  std::lock_guard lock(mutex_);
  return total_bytes_;
}

std::size_t Segments::segment_count() const {
  std::lock_guard lock(mutex_);
  return segments_.size();
}

Segments::Segment Segments::locate(std::int64_t seq) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), seq,
                             [](std::int64_t s, const Segment& g) { return s < g.base; });
  return it == segments_.begin() ? segments_.front() : *std::prev(it);
}

Result<std::size_t> Segments::read(Cursor& cursor, std::int64_t after, std::size_t max,
                                   const std::function<void(const Record&)>& each) const {
  std::size_t count = 0;
  // A cursor left where this read starts reads on; any other starts over at the segment that
  // holds record after + 1 and skips what comes before it.
  bool positioned = cursor.fd_ >= 0 && cursor.next_seq_ == after + 1;
  while (count < max) {
    Segment segment;
    bool open_segment = !positioned;
    {
      std::lock_guard lock(mutex_);
      if (after >= next_seq_ - 1) {
        // Caught up: a consumer goes on from the log's in-memory tail, so the read buffer
        // (up to a chunk, 1 MiB) is not kept for it.
        std::string().swap(cursor.buffer_);
        return count;
      }
      // A cursor in a segment that drop_before() deleted starts over at the oldest one left.
      if (positioned && cursor.base_ < segments_.front().base) {
        positioned = false;
        open_segment = true;
      }
      if (!positioned) {
        segment = locate(std::max(after + 1, segments_.front().base));
      } else {
        segment = locate(cursor.base_);
        if (cursor.offset_ >= segment.bytes) {  // its end: the next segment starts after it
          auto next =
              std::upper_bound(segments_.begin(), segments_.end(), cursor.base_,
                               [](std::int64_t base, const Segment& g) { return base < g.base; });
          if (next == segments_.end()) return count;  // nothing newer synced yet
          segment = *next;
          if (segment.base != cursor.next_seq_) {
            return make_error(ErrorCode::kInternal, "event log " + dir_ +
                                                        ": no segment starts at record " +
                                                        std::to_string(cursor.next_seq_));
          }
          open_segment = true;
        }
      }
    }
    if (open_segment) {
      cursor.close();
      cursor.fd_ = ::open(path_of(segment.base).c_str(), O_RDONLY | O_CLOEXEC);
      if (cursor.fd_ < 0 && errno == ENOENT && segment.base < first_seq()) {
        positioned = false;  // drop_before() deleted it meanwhile: the oldest one left
        continue;
      }
      if (cursor.fd_ < 0) return os_error(ErrorCode::kUnavailable, "open " + path_of(segment.base));
      cursor.base_ = segment.base;
      cursor.offset_ = 0;
      cursor.next_seq_ = segment.base;
      positioned = true;
    }
    bool misnumbered = false;
    const Stop stop = scan_records(cursor.fd_, cursor.offset_, segment.bytes, cursor.buffer_,
                                   [&](const Record& record) {
                                     if (count >= max) return false;
                                     if (record.seq != cursor.next_seq_) {
                                       misnumbered = true;
                                       return false;
                                     }
                                     ++cursor.next_seq_;
                                     if (record.seq > after) {
                                       each(record);
                                       ++count;
                                       after = record.seq;
                                     }
                                     return true;
                                   });
    if (stop == Stop::kEnd || (stop == Stop::kAsked && !misnumbered)) continue;
    const std::string path = path_of(cursor.base_);
    const auto seq = cursor.next_seq_;
    cursor.close();
    if (stop == Stop::kReadError) return os_error(ErrorCode::kUnavailable, "read " + path);
    if (stop == Stop::kShortRead) {
      return make_error(ErrorCode::kInternal, "event log " + path +
                                                  " is shorter than its synced end (" +
                                                  std::to_string(segment.bytes) + " bytes)");
    }
    if (stop == Stop::kIncomplete) {
      return make_error(
          ErrorCode::kInternal,
          "event log " + path + ": record " + std::to_string(seq) + " runs past the synced end");
    }
    return make_error(ErrorCode::kInternal, "event log " + path + ": record " +
                                                std::to_string(seq) +
                                                " is damaged (CRC, length or numbering)");
  }
  return count;
}

}  // namespace switchyard::bus::segments
