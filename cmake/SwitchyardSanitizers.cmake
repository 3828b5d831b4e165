# SWITCHYARD_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer on every target.
if(SWITCHYARD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# SWITCHYARD_FUZZ=ON: coverage instrumentation for libFuzzer plus ASan + UBSan (clang only).
if(SWITCHYARD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SWITCHYARD_FUZZ needs clang (tests/fuzz/run sets it)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
