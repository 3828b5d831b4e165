# switchyard_proto_library(<name> PROTOS <files relative to proto/> [DEPS <other proto libs>])
#
# Turns .proto files under proto/ into a static library with the protobuf messages and the gRPC
# stubs. A service adds a contract with one line:
#   switchyard_proto_library(switchyard_proto_events PROTOS switchyard/v1/events.proto)
# Generated headers are included as "switchyard/v1/events.pb.h".
set(SWITCHYARD_PROTO_ROOT ${CMAKE_CURRENT_LIST_DIR}/../proto)
get_filename_component(SWITCHYARD_PROTO_ROOT ${SWITCHYARD_PROTO_ROOT} ABSOLUTE)

function(switchyard_proto_library name)
  cmake_parse_arguments(ARG "" "" "PROTOS;DEPS" ${ARGN})
  set(out_dir ${CMAKE_BINARY_DIR}/generated/proto)
  file(MAKE_DIRECTORY ${out_dir})
  set(sources)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem ${proto})
    set(generated ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h
                  ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${generated}
      COMMAND protobuf::protoc
        --proto_path=${SWITCHYARD_PROTO_ROOT}
        --cpp_out=${out_dir}
        --grpc_out=${out_dir}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${SWITCHYARD_PROTO_ROOT}/${proto}
      DEPENDS ${SWITCHYARD_PROTO_ROOT}/${proto} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND sources ${generated})
  endforeach()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} SYSTEM PUBLIC ${out_dir})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf gRPC::grpc++ ${ARG_DEPS})
endfunction()
