// Transactions rows <-> switchyard.v1 messages.
#pragma once

#include "switchyard/v1/transactions.pb.h"
#include "transactions/pricing.h"
#include "transactions/store.h"

namespace switchyard::transactions {

void to_proto(const TransactionRow& row, v1::Transaction* out);
void to_proto(const CdrRow& row, v1::Cdr* out);
void to_proto(const Tariff& tariff, v1::Tariff* out);
Tariff from_proto(const v1::Tariff& tariff);

std::int64_t millis(const google::protobuf::Timestamp& ts);
void set_millis(google::protobuf::Timestamp* ts, std::int64_t ms);

}  // namespace switchyard::transactions
