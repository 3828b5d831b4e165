// The gateway's synchronous decision for a transaction message (Transactions.Decide): a 1.6
// start gets a transaction id unique across every pod; a token is checked with the
// Authorization service, and refused with ConcurrentTx when the operator forbids a second
// running transaction for it (or its group).
#pragma once

#include <functional>

#include "common/runtime/core/error.h"
#include "common/runtime/sql/database.h"
#include "switchyard/v1/authorization.pb.h"
#include "switchyard/v1/transactions.pb.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard::transactions {

// Authorization.Authorize, as a function a test can fake.
using TokenAuthority = std::function<Result<v1::AuthorizeResponse>(const v1::AuthorizeRequest&)>;

class Decider {
 public:
  Decider(sql::Database& db, TokenAuthority authority, prometheus::Registry* metrics);
  // INVALID_ARGUMENT for a request without charger or event; UNAVAILABLE when the database or
  // the Authorization service cannot be reached (the gateway then answers the charger with an
  // error and the charger retries).
  Result<v1::DecideResponse> decide(const v1::DecideRequest& request);
  Result<int> count_active(const v1::CountActiveRequest& request);

 private:
  sql::Database& db_;
  TokenAuthority authority_;
  prometheus::Family<prometheus::Counter>* decisions_ = nullptr;
};

}  // namespace switchyard::transactions
