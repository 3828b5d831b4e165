// Statement latency and error counters of one SQL engine (internal to the sql library).
#pragma once

#include <chrono>
#include <string>

namespace prometheus {
class Counter;
class Histogram;
class Registry;
}  // namespace prometheus

namespace switchyard::sql {

class SqlMetrics {
 public:
  // No-op when `registry` is null. `engine` is the label value: "postgres" or "sqlite".
  SqlMetrics(prometheus::Registry* registry, const std::string& engine);
  // One statement finished; `ok` false counts an error too.
  void observe(std::chrono::steady_clock::time_point started, bool ok);

 private:
  prometheus::Histogram* latency_ = nullptr;
  prometheus::Counter* errors_ = nullptr;
};

}  // namespace switchyard::sql
