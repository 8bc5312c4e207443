# Fuzz targets (tests/fuzz/fuzz_<parser>.c). Two ways to build each one:
#  - always: fuzz_regress_<target>, the target with tests/fuzz/regress_main.c, a ctest that
#    replays tests/fuzz/corpus/<target>/ and every crash kept in tests/fuzz/regress/<target>/;
#  - with clang and -DHQ_FUZZ=ON (tools/hallq fuzz, build-fuzz): fuzz_<target> linked with
#    libFuzzer, the libraries it uses instrumented for coverage.
option(HQ_FUZZ "Build the libFuzzer targets (clang only)" OFF)

set(HQ_FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)
# target -> libraries
set(HQ_FUZZ_TARGETS idcard hallbus ledbar escpos wav config sync_proto slip api onbon)
set(HQ_FUZZ_LIBS_idcard hqdrivers)
set(HQ_FUZZ_LIBS_hallbus hqdrivers)
set(HQ_FUZZ_LIBS_ledbar hqdrivers)
set(HQ_FUZZ_LIBS_onbon hqdrivers)
set(HQ_FUZZ_LIBS_escpos hqdrivers)
set(HQ_FUZZ_LIBS_wav hqdrivers)
set(HQ_FUZZ_LIBS_config hqconfig)
set(HQ_FUZZ_LIBS_sync_proto hqsync)
set(HQ_FUZZ_LIBS_slip hqsync)
set(HQ_FUZZ_LIBS_api hqstore PkgConfig::MHD PkgConfig::HQD_QRENCODE)

if(HQ_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "HQ_FUZZ needs clang: CC=clang cmake -DHQ_FUZZ=ON ...")
  endif()
  # Coverage feedback from the code under test, not only from the harness.
  foreach(_lib hqcommon hqdrivers hqengine hqconfig hqsync hqstore)
    if(TARGET ${_lib})
      target_compile_options(${_lib} PRIVATE -fsanitize=fuzzer-no-link)
    endif()
  endforeach()
endif()

foreach(_t ${HQ_FUZZ_TARGETS})
  set(_libs ${HQ_FUZZ_LIBS_${_t}})
  list(GET _libs 0 _first)
  if(NOT TARGET ${_first})
    continue()
  endif()
  add_executable(fuzz_regress_${_t} ${HQ_FUZZ_DIR}/fuzz_${_t}.c ${HQ_FUZZ_DIR}/regress_main.c)
  target_link_libraries(fuzz_regress_${_t} PRIVATE ${_libs} hqcommon)
  target_compile_definitions(fuzz_regress_${_t} PRIVATE HQ_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  set_target_properties(fuzz_regress_${_t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  add_test(NAME fuzz_regress_${_t}
           COMMAND fuzz_regress_${_t} ${HQ_FUZZ_DIR}/corpus/${_t} ${HQ_FUZZ_DIR}/regress/${_t})
  set_tests_properties(fuzz_regress_${_t} PROPERTIES LABELS fuzz)
  if(HQ_FUZZ)
    add_executable(fuzz_${_t} ${HQ_FUZZ_DIR}/fuzz_${_t}.c)
    target_link_libraries(fuzz_${_t} PRIVATE ${_libs} hqcommon)
    target_compile_definitions(fuzz_${_t} PRIVATE HQ_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    target_compile_options(fuzz_${_t} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${_t} PRIVATE -fsanitize=fuzzer)
    set_target_properties(fuzz_${_t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endif()
endforeach()
