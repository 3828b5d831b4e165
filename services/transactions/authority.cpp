// TokenAuthority over gRPC (see authority.h).
#include "transactions/authority.h"

#include "common/runtime/grpc/status.h"

namespace switchyard::transactions {

TokenAuthority grpc_token_authority(std::shared_ptr<v1::Authorization::StubInterface> stub,
                                    std::chrono::milliseconds deadline) {
  return [stub = std::move(stub),
          deadline](const v1::AuthorizeRequest& request) -> Result<v1::AuthorizeResponse> {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    context.set_wait_for_ready(true);  // an auth pod restarting is waited for, up to the deadline
    v1::AuthorizeResponse response;
    const grpc::Status status = stub->Authorize(&context, request, &response);
    if (!status.ok()) {
      return make_error(from_grpc_code(status.error_code()),
                        "Authorization.Authorize: " + status.error_message());
    }
    return response;
  };
}

}  // namespace switchyard::transactions
