# Language level, output layout and build-wide defaults shared by every target.
set(CMAKE_CXX_STANDARD 23)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

# Every binary lands in build/bin, every library in build/lib.
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
set(CMAKE_LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
set(CMAKE_ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)

# ccache when present: CI and incremental builds reuse object files.
find_program(SWITCHYARD_CCACHE ccache)
if(SWITCHYARD_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${SWITCHYARD_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${SWITCHYARD_CCACHE})
endif()

# Boost.Asio/Beast: no deprecated interfaces, separate compilation is not used.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

# Source root, so tests can find committed fixtures.
set(SWITCHYARD_SOURCE_ROOT ${CMAKE_CURRENT_SOURCE_DIR})

# clang before 17 implements what GCC 12's <expected> needs but announces an older concepts level,
# so libstdc++ hides std::expected from it. Announce the level it implements.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 17)
  add_compile_options(-U__cpp_concepts -D__cpp_concepts=202002L)
endif()
