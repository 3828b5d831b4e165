// The accessors of sql::Rows: typed views of the text cells both engines return.
#include <charconv>

#include "common/runtime/sql/database.h"

namespace switchyard::sql {

const std::string& Rows::text(int row, int col) const {
  static const std::string kEmpty;
  const Param& cell = cells_[row][col];
  return cell ? *cell : kEmpty;
}

std::int64_t Rows::int64(int row, int col) const {
  const std::string& t = text(row, col);
  std::int64_t value = 0;
  if (std::from_chars(t.data(), t.data() + t.size(), value).ec != std::errc{}) return 0;
  return value;
}

bool Rows::boolean(int row, int col) const {
  const std::string& t = text(row, col);
  return t == "t" || t == "true" || t == "1";
}

}  // namespace switchyard::sql
