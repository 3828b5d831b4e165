// Why the last OpenSSL call failed, in words for an error message.
#pragma once

#include <string>

namespace switchyard {

// The reason of the first error OpenSSL queued (the innermost: "no start line", not the
// generic "PEM lib" above it), or the system's words for a system error; "unreadable" when
// none was queued. The thread's error queue is cleared.
std::string openssl_error();

}  // namespace switchyard
