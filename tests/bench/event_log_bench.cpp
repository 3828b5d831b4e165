// The standalone's durable event log against the physical floor of what it does, in the same
// run: appending the same bytes to a file and fdatasync()ing once per batch. Each iteration
// publishes one batch of MeterValues-sized events (what one round of chargers sends between two
// group commits) and waits for every callback; a second case also runs a consumer that keeps up,
// as the standalone's projections do. CPU is the whole process's (the writer is a thread).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "common/runtime/bus/event_log.h"

namespace {

using namespace std::chrono_literals;
using switchyard::Result;
using switchyard::bus::EventLog;

constexpr std::size_t kEventBytes = 900;  // a normalized MeterValues with its raw frame

std::string event_bytes() {
  std::mt19937 random(7);
  std::string bytes(kEventBytes, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

std::string scratch(const char* name) {
  const auto path = std::filesystem::temp_directory_path() /
                    (std::string("switchyard-bench-") + name + "-" + std::to_string(getpid()));
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  std::filesystem::remove_all(path.string() + "-segments");
  return path.string();
}

void remove_files(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  std::filesystem::remove_all(path + "-segments");
}

// The floor: the batch's bytes appended with one write() and made durable with one fdatasync().
void BM_AppendAndSyncFloor(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const std::string path = scratch("floor");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  const std::string one = event_bytes();
  std::string bytes;
  for (std::size_t i = 0; i < batch; ++i) bytes += one;
  for (auto _ : state) {
    if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write failed");
      break;
    }
  }
  ::close(fd);
  remove_files(path);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void publish_batches(benchmark::State& state, bool with_consumer) {
  const auto batch = static_cast<int>(state.range(0));
  const std::string path = scratch(with_consumer ? "log-consumed" : "log");
  auto log = EventLog::open(path, nullptr);
  if (!log) {
    state.SkipWithError(log.error().message.c_str());
    return;
  }
  std::jthread consumer;
  if (with_consumer) {
    auto c = (*log)->consumer("bench", {"ocpp.events.v1"});
    if (!c) {
      state.SkipWithError(c.error().message.c_str());
      return;
    }
    consumer = std::jthread([c = std::move(*c)](const std::stop_token& stop) {
      c->run(
          [](const switchyard::bus::Event& e) -> Result<void> {
            benchmark::DoNotOptimize(e.value.data());
            return {};
          },
          stop);
    });
  }
  const std::string value = event_bytes();
  std::atomic<int> failed{0};
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      (*log)->publisher().publish("ocpp.events.v1", "CP" + std::to_string(i), value,
                                  [&](Result<void> r) {
                                    if (!r) ++failed;
                                  });
    }
    if (!(*log)->publisher().flush(10s)) state.SkipWithError("flush timed out");
  }
  if (failed.load() > 0) state.SkipWithError("publish failed");
  consumer = {};
  log->reset();
  remove_files(path);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_EventLog(benchmark::State& state) { publish_batches(state, false); }
void BM_EventLogAndConsumer(benchmark::State& state) { publish_batches(state, true); }

BENCHMARK(BM_AppendAndSyncFloor)->Arg(100)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_EventLog)->Arg(100)->MeasureProcessCPUTime()->UseRealTime();
BENCHMARK(BM_EventLogAndConsumer)->Arg(100)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
