// split and trim: the pieces CSV and hash parsers rely on.
#include "common/runtime/core/text.h"

#include <gtest/gtest.h>

namespace switchyard {
namespace {

using Pieces = std::vector<std::string_view>;

TEST(Text, SplitKeepsEmptyPieces) {
  EXPECT_EQ(split("a,,b", ','), (Pieces{"a", "", "b"}));
  EXPECT_EQ(split("", ','), (Pieces{""}));
  EXPECT_EQ(split("a,", ','), (Pieces{"a", ""}));
  EXPECT_EQ(split("abc", ','), (Pieces{"abc"}));
}

TEST(Text, TrimDropsBlanksAtBothEnds) {
  EXPECT_EQ(trim("  a b\t\r"), "a b");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
}

}  // namespace
}  // namespace switchyard
