#include "gateway/io_rounds.h"

#include <boost/asio/io_context.hpp>
#include <thread>

namespace switchyard::gateway {

void run_in_rounds(boost::asio::io_context& ioc, std::chrono::steady_clock::duration window,
                   const std::function<void(const IoRound&)>& on_round, std::size_t busy_handlers) {
  for (;;) {
    IoRound round;
    round.handlers = ioc.run_one();   // blocks until there is work: the wake-up
    if (round.handlers == 0) return;  // stopped, or out of work
    const bool coalescing = window.count() > 0;
    const auto woke = coalescing ? std::chrono::steady_clock::now()  // no clock read when off
                                 : std::chrono::steady_clock::time_point{};
    round.handlers += ioc.poll();
    if (coalescing && round.handlers < busy_handlers && !ioc.stopped()) {
      std::this_thread::sleep_until(woke + window);
      round.handlers += ioc.poll();
      round.waited = true;
    }
    on_round(round);
  }
}

}  // namespace switchyard::gateway
