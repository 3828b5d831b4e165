#include "gateway/file_watch.h"

#include <sys/stat.h>

namespace switchyard::gateway {

FileWatch::FileWatch(std::vector<std::string> paths) : paths_(std::move(paths)) {
  stamps_.reserve(paths_.size());
  for (const auto& path : paths_) stamps_.push_back(stamp(path));
}

bool FileWatch::changed() {
  bool any = false;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    Stamp now = stamp(paths_[i]);
    if (now != stamps_[i]) {
      stamps_[i] = now;
      any = true;
    }
  }
  return any;
}

FileWatch::Stamp FileWatch::stamp(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return {};
  return {.exists = true,
          .modified_ns =
              static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
          .size = static_cast<std::int64_t>(info.st_size),
          .inode = static_cast<std::uint64_t>(info.st_ino)};
}

}  // namespace switchyard::gateway
