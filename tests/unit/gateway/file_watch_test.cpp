// FileWatch: what counts as a change of a watched file.
#include "gateway/file_watch.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace switchyard::gateway {
namespace {

namespace fs = std::filesystem;

class FileWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("switchyard-file-watch-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(directory_ / name) << text;
    return directory_ / name;
  }
  fs::path directory_;
};

TEST_F(FileWatchTest, SeesNothingUntilAFileChangesAndEachChangeOnce) {
  const auto file = write("cert.pem", "one");
  FileWatch watch({file.string()});
  EXPECT_FALSE(watch.changed());
  write("cert.pem", "two, longer");
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());
}

TEST_F(FileWatchTest, AFileReplacedByRenameIsAChangeEvenWithTheSameSizeAndTime) {
  const auto file = write("cert.pem", "same");
  FileWatch watch({file.string()});
  const auto next = write("cert.pem.new", "same");
  fs::last_write_time(next, fs::last_write_time(file));
  fs::rename(next, file);  // a new inode
  EXPECT_TRUE(watch.changed());
}

TEST_F(FileWatchTest, ASwappedSymbolicLinkIsAChangeAsAKubernetesSecretUpdateIs) {
  // A Secret volume: cert.pem -> ..data/cert.pem, ..data -> ..2026_01 (swapped on update).
  fs::create_directories(directory_ / "..2026_01");
  fs::create_directories(directory_ / "..2026_02");
  write("..2026_01/cert.pem", "old");
  write("..2026_02/cert.pem", "new!");
  fs::create_directory_symlink("..2026_01", directory_ / "..data");
  fs::create_symlink("..data/cert.pem", directory_ / "cert.pem");
  FileWatch watch({(directory_ / "cert.pem").string()});
  EXPECT_FALSE(watch.changed());
  fs::create_directory_symlink("..2026_02", directory_ / "..data_tmp");
  fs::rename(directory_ / "..data_tmp", directory_ / "..data");
  EXPECT_TRUE(watch.changed());
}

TEST_F(FileWatchTest, AFileThatDisappearsOrAppearsIsAChange) {
  const auto file = write("key.pem", "k");
  const auto later = directory_ / "ca.pem";
  FileWatch watch({file.string(), later.string()});
  fs::remove(file);
  EXPECT_TRUE(watch.changed());
  write("ca.pem", "ca");
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());
}

}  // namespace
}  // namespace switchyard::gateway
