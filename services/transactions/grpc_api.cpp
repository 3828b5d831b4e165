// The Transactions gRPC service (see grpc_api.h).
#include "transactions/grpc_api.h"

#include <deque>

#include "common/runtime/core/base64.h"
#include "common/runtime/grpc/status.h"
#include "transactions/convert.h"
#include "transactions/store.h"

namespace switchyard::transactions {
namespace {

constexpr int kMaxPage = 1000;
constexpr std::size_t kMaxStreamBacklog = 10000;

grpc::Status invalid(const std::string& what) { return {grpc::StatusCode::INVALID_ARGUMENT, what}; }

// page_size: 0 = the default (100), above the maximum = the maximum, negative = an error.
std::optional<int> page_size(int requested) {
  if (requested < 0) return std::nullopt;
  return requested == 0 ? 100 : std::min(requested, kMaxPage);
}

std::optional<std::int64_t> time_filter(bool present, const google::protobuf::Timestamp& ts) {
  if (!present) return std::nullopt;
  return millis(ts);
}

std::string state_filter(v1::TransactionState s) {
  switch (s) {
    case v1::TRANSACTION_STATE_ACTIVE:
      return "ACTIVE";
    case v1::TRANSACTION_STATE_ENDED:
      return "ENDED";
    default:
      return "";
  }
}

// A transactions page token: base64 of "charger_id \x1f transaction_id" of the last row.
std::string transactions_token(const TransactionRow& row) {
  return base64_encode(row.charger_id + '\x1f' + row.transaction_id);
}

bool valid_currency(const std::string& c) {
  return c.size() == 3 &&
         std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

// Writes committed transaction changes to one subscriber. The hub calls on_change on the
// projector thread; the backlog is bounded: a client that cannot keep up is finished with
// RESOURCE_EXHAUSTED rather than slowing the projector or growing without bound.
class StreamReactor final : public grpc::ServerWriteReactor<v1::StreamTransactionsResponse> {
 public:
  StreamReactor(TransactionHub& hub, std::string charger_id)
      : hub_(hub), charger_id_(std::move(charger_id)) {
    subscription_ = hub_.subscribe(
        [this](const TransactionRow& row, Change change) { on_change(row, change); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mutex_);
    writing_ = false;
    if (!ok) {
      finish_locked(grpc::Status::CANCELLED);
      return;
    }
    backlog_.pop_front();
    write_next_locked();
  }
  void OnCancel() override {
    std::lock_guard lock(mutex_);
    finish_locked(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    hub_.unsubscribe(subscription_);
    delete this;
  }

 private:
  void on_change(const TransactionRow& row, Change change) {
    if (!charger_id_.empty() && row.charger_id != charger_id_) return;
    std::lock_guard lock(mutex_);
    if (finishing_) return;
    if (backlog_.size() >= kMaxStreamBacklog) {
      finish_locked(
          {grpc::StatusCode::RESOURCE_EXHAUSTED, "stream consumer too slow: backlog full"});
      return;
    }
    v1::StreamTransactionsResponse message;
    to_proto(row, message.mutable_transaction());
    message.set_change(change_name(change));
    backlog_.push_back(std::move(message));
    write_next_locked();
  }
  void write_next_locked() {
    if (writing_) return;
    if (finishing_) {
      if (finish_pending_) finish_locked(pending_status_);
      return;
    }
    if (backlog_.empty()) return;
    writing_ = true;
    StartWrite(&backlog_.front());
  }
  // Finish once, and only when no write is in flight.
  void finish_locked(grpc::Status status) {
    if (finished_) return;
    finishing_ = true;
    if (writing_) {
      finish_pending_ = true;
      pending_status_ = std::move(status);
      return;
    }
    finished_ = true;
    Finish(std::move(status));
  }

  TransactionHub& hub_;
  std::string charger_id_;
  std::uint64_t subscription_ = 0;
  std::mutex mutex_;
  std::deque<v1::StreamTransactionsResponse> backlog_;
  bool writing_ = false;
  bool finishing_ = false;
  bool finish_pending_ = false;
  bool finished_ = false;
  grpc::Status pending_status_;
};

}  // namespace

TransactionsApi::Reactor* TransactionsApi::Decide(Context* c, const v1::DecideRequest* r,
                                                  v1::DecideResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto d = decider_.decide(*r);
    if (!d) return to_grpc_status(d.error());
    *out = std::move(*d);
    return grpc::Status::OK;
  });
}

TransactionsApi::Reactor* TransactionsApi::CountActive(Context* c, const v1::CountActiveRequest* r,
                                                       v1::CountActiveResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto n = decider_.count_active(*r);
    if (!n) return to_grpc_status(n.error());
    out->set_active(*n);
    return grpc::Status::OK;
  });
}

TransactionsApi::Reactor* TransactionsApi::GetTransaction(Context* c,
                                                          const v1::GetTransactionRequest* r,
                                                          v1::GetTransactionResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->charger_id().empty() || r->transaction_id().empty()) {
      return invalid("charger_id and transaction_id are required");
    }
    auto t = get_transaction(db_, r->charger_id(), r->transaction_id());
    if (!t) return to_grpc_status(t.error());
    if (!*t) {
      return {grpc::StatusCode::NOT_FOUND,
              "no transaction " + r->transaction_id() + " on charger " + r->charger_id()};
    }
    to_proto(**t, out->mutable_transaction());
    return grpc::Status::OK;
  });
}

TransactionsApi::Reactor* TransactionsApi::ListTransactions(Context* c,
                                                            const v1::ListTransactionsRequest* r,
                                                            v1::ListTransactionsResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    const auto size = page_size(r->page_size());
    if (!size) return invalid("page_size must not be negative");
    TransactionFilter f;
    f.charger_id = r->charger_id();
    f.id_token = r->id_token();
    f.started_after = time_filter(r->has_started_after(), r->started_after());
    f.started_before = time_filter(r->has_started_before(), r->started_before());
    f.state = state_filter(r->state());
    f.page_size = *size;
    if (!r->page_token().empty()) {
      auto decoded = base64_decode(r->page_token());
      const auto sep = decoded ? decoded->find('\x1f') : std::string::npos;
      if (sep == std::string::npos) return invalid("page_token is not one this service returned");
      f.after_charger = decoded->substr(0, sep);
      f.after_transaction = decoded->substr(sep + 1);
    }
    auto rows = list_transactions(db_, f);
    if (!rows) return to_grpc_status(rows.error());
    for (const auto& row : *rows) to_proto(row, out->add_transactions());
    if (static_cast<int>(rows->size()) == *size)
      out->set_next_page_token(transactions_token(rows->back()));
    return grpc::Status::OK;
  });
}

grpc::ServerWriteReactor<v1::StreamTransactionsResponse>* TransactionsApi::StreamTransactions(
    Context*, const v1::StreamTransactionsRequest* r) {
  return new StreamReactor(hub_, r->charger_id());
}

TransactionsApi::Reactor* TransactionsApi::GetCdr(Context* c, const v1::GetCdrRequest* r,
                                                  v1::GetCdrResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->cdr_id().empty()) return invalid("cdr_id is required");
    auto cdr = get_cdr(db_, r->cdr_id());
    if (!cdr) return to_grpc_status(cdr.error());
    if (!*cdr) return {grpc::StatusCode::NOT_FOUND, "no CDR " + r->cdr_id()};
    to_proto(**cdr, out->mutable_cdr());
    return grpc::Status::OK;
  });
}

TransactionsApi::Reactor* TransactionsApi::ListCdrs(Context* c, const v1::ListCdrsRequest* r,
                                                    v1::ListCdrsResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    const auto size = page_size(r->page_size());
    if (!size) return invalid("page_size must not be negative");
    CdrFilter f;
    f.charger_id = r->charger_id();
    f.id_token = r->id_token();
    f.ended_after = time_filter(r->has_ended_after(), r->ended_after());
    f.ended_before = time_filter(r->has_ended_before(), r->ended_before());
    f.page_size = *size;
    if (!r->page_token().empty()) {
      auto decoded = base64_decode(r->page_token());
      if (!decoded) return invalid("page_token is not one this service returned");
      f.after = *decoded;
    }
    auto rows = list_cdrs(db_, f);
    if (!rows) return to_grpc_status(rows.error());
    for (const auto& row : *rows) to_proto(row, out->add_cdrs());
    if (static_cast<int>(rows->size()) == *size)
      out->set_next_page_token(base64_encode(rows->back().cdr_id));
    return grpc::Status::OK;
  });
}

TransactionsApi::Reactor* TransactionsApi::PutTariff(Context* c, const v1::PutTariffRequest* r,
                                                     v1::PutTariffResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    const Tariff t = from_proto(r->tariff());
    if (t.tariff_id.empty()) return invalid("tariff.tariff_id is required");
    if (!valid_product_id(t.product_id))
      return invalid("tariff.product_id must be 1 to 50 characters");
    if (!valid_currency(t.currency))
      return invalid("tariff.currency must be an ISO 4217 code such as EUR");
    if (t.energy_minor_per_mwh < 0 || t.time_minor_per_hour < 0 || t.session_fee_minor < 0) {
      return invalid("tariff prices must not be negative");
    }
    if (t.vat_basis_points < 0 || t.vat_basis_points > 10000) {
      return invalid("tariff.vat_basis_points must be 0 to 10000");
    }
    if (auto put = put_tariff(db_, t); !put) return to_grpc_status(put.error());
    to_proto(t, out->mutable_tariff());
    return grpc::Status::OK;
  });
}

TransactionsApi::Reactor* TransactionsApi::ListTariffs(Context* c, const v1::ListTariffsRequest*,
                                                       v1::ListTariffsResponse* out) {
  return run_blocking(c, pool_, [this, out]() -> grpc::Status {
    auto tariffs = list_tariffs(db_);
    if (!tariffs) return to_grpc_status(tariffs.error());
    for (const auto& t : *tariffs) to_proto(t, out->add_tariffs());
    return grpc::Status::OK;
  });
}

}  // namespace switchyard::transactions
