// switchyard_sql_query_seconds{engine} and switchyard_sql_errors_total{engine}.
#include "common/runtime/sql/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace switchyard::sql {

SqlMetrics::SqlMetrics(prometheus::Registry* registry, const std::string& engine) {
  if (registry == nullptr) return;
  // Both engines may share a registry: prometheus-cpp returns the existing family by name.
  latency_ = &prometheus::BuildHistogram()
                  .Name("switchyard_sql_query_seconds")
                  .Help("Time of one SQL statement")
                  .Register(*registry)
                  .Add({{"engine", engine}}, prometheus::Histogram::BucketBoundaries{
                                                 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002,
                                                 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5});
  errors_ = &prometheus::BuildCounter()
                 .Name("switchyard_sql_errors_total")
                 .Help("Failed SQL statements")
                 .Register(*registry)
                 .Add({{"engine", engine}});
}

void SqlMetrics::observe(std::chrono::steady_clock::time_point started, bool ok) {
  if (latency_ != nullptr) {
    latency_->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  if (!ok && errors_ != nullptr) errors_->Increment();
}

}  // namespace switchyard::sql
