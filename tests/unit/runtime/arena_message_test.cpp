// ArenaMessage: a parsed event is the same as one parsed on the heap, a large one spills past the
// inline block without loss, and reset() gives an empty message again.
#include "common/runtime/bus/arena_message.h"

#include <gtest/gtest.h>

#include "switchyard/v1/events.pb.h"

namespace switchyard::bus {
namespace {

v1::ChargerEvent meter_event(int samples) {
  v1::ChargerEvent e;
  e.set_event_id("6f1c2d9e-8f0a-4b7e-9a51-1f2e3d4c5b6a");
  e.set_charger_id("CP-ARENA-1");
  e.set_action("MeterValues");
  e.set_raw_frame(R"([2,"m1","MeterValues",{"connectorId":1,"meterValue":[]}])");
  e.mutable_received_at()->set_seconds(1714564800);
  auto* mv = e.mutable_meter_values();
  mv->set_transaction_id("4242");
  for (int i = 0; i < samples; ++i) {
    auto* s = mv->add_samples();
    s->set_measurand("Energy.Active.Import.Register");
    s->set_value(1000.5 + i);
    s->mutable_timestamp()->set_seconds(1714564800 + i);
  }
  return e;
}

TEST(ArenaMessage, ParsesTheSameAsOnTheHeapSmallOrLarge) {
  for (int samples : {3, 500}) {  // 500 samples: far past the 4 KiB inline block
    const std::string bytes = meter_event(samples).SerializeAsString();
    v1::ChargerEvent heap;
    ASSERT_TRUE(heap.ParseFromString(bytes));
    ArenaMessage<v1::ChargerEvent> on_arena;
    ASSERT_TRUE(on_arena->ParseFromString(bytes));
    EXPECT_EQ(on_arena->SerializeAsString(), bytes) << samples;
    EXPECT_EQ((*on_arena).meter_values().samples_size(), samples);
    EXPECT_EQ(on_arena->GetArena() != nullptr, true);
  }
}

TEST(ArenaMessage, ResetLeavesAnEmptyMessageThatIsUsedAgain) {
  ArenaMessage<v1::ChargerEvent, 2048> event;
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(event->ParseFromString(meter_event(50 * round + 1).SerializeAsString()));
    EXPECT_EQ(event->meter_values().samples_size(), 50 * round + 1);
    event.reset();
    EXPECT_FALSE(event->has_meter_values());
    EXPECT_TRUE(event->charger_id().empty());
  }
}

}  // namespace
}  // namespace switchyard::bus
