#include "gateway/io_rounds.h"

#include <boost/asio/io_context.hpp>
#include <thread>

namespace switchyard::gateway {

void run_in_rounds(boost::asio::io_context& ioc, const Coalescing& coalescing,
                   const std::function<void(const IoRound&)>& on_round, std::size_t busy_handlers) {
  for (;;) {
    IoRound round;
    round.handlers = ioc.run_one();   // blocks until there is work: the wake-up
    if (round.handlers == 0) return;  // stopped, or out of work
    const bool waits = coalescing.waits();
    const auto woke = waits ? std::chrono::steady_clock::now()  // no clock read when not
                            : std::chrono::steady_clock::time_point{};
    round.handlers += ioc.poll();
    if (waits && round.handlers < busy_handlers && !ioc.stopped()) {
      std::this_thread::sleep_until(woke + coalescing.window);
      round.handlers += ioc.poll();
      round.waited = true;
    }
    on_round(round);
  }
}

}  // namespace switchyard::gateway
