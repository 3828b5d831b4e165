# switchyard_warnings(<target>): the project's warning set; -Werror when SWITCHYARD_WERROR is on.
function(switchyard_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor
                                           -Wimplicit-fallthrough
                                           $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>)
  if(SWITCHYARD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# switchyard_library(<name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...]): one static library per
# module, include root at services/ so headers are included as "common/runtime/kafka/producer.h".
function(switchyard_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/services)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  switchyard_warnings(${name})
endfunction()

# switchyard_binary(<name> SOURCES ... DEPS ...): an executable in build/bin.
function(switchyard_binary name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  switchyard_warnings(${name})
endfunction()
