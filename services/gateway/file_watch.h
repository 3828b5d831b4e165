// Tells when files changed on disk: their modification time, size or inode (following symbolic
// links, so a Kubernetes Secret volume, which swaps a `..data` link to update, is seen
// changing). For reloading TLS certificates without a restart. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace switchyard::gateway {

class FileWatch {
 public:
  // Takes the files' current state as the baseline.
  explicit FileWatch(std::vector<std::string> paths);

  // True when any file differs from the state seen last (then that state is the baseline); a
  // file that appears or disappears is a change too.
  bool changed();

 private:
  struct Stamp {
    bool exists = false;
    std::int64_t modified_ns = 0;
    std::int64_t size = 0;
    std::uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp(const std::string& path);

  std::vector<std::string> paths_;
  std::vector<Stamp> stamps_;
};

}  // namespace switchyard::gateway
