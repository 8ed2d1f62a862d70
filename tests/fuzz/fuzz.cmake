# libFuzzer targets (tests/fuzz/README.md), built by clang whatever compiler
# builds the rest: each source is compiled with clang by a custom command,
# with ASan + UBSan (-fno-sanitize-recover: any UB report is a crash) and
# libFuzzer's coverage instrumentation, then linked with -fsanitize=fuzzer.
# Included from the top CMakeLists.txt (same directory scope, so the
# embedded-file sources generated there are reachable). A failed clang
# build fails the build: fuzzers are never skipped silently.
option(POLREC_FUZZ "build the libFuzzer targets with clang and run them in ctest" ON)
if(POLREC_FUZZ)
  find_program(POLREC_FUZZ_CC NAMES clang clang-14 REQUIRED
               DOC "clang for the libFuzzer targets")
  set(POLREC_FUZZ_SECONDS 20 CACHE STRING "seconds each fuzz.* test fuzzes")
  set(_fz_dir ${CMAKE_BINARY_DIR}/fuzz)
  set(_fz_san -fsanitize=address,undefined -fno-sanitize-recover=all)
  set(_fz_cflags -g -O1 -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE
      -I${PROJECT_SOURCE_DIR} ${YAML_CFLAGS} ${JSONC_CFLAGS} ${SQLITE_CFLAGS}
      ${ZSTD_CFLAGS} ${PCAP_CFLAGS} ${CRYPTO_CFLAGS} ${_fz_san})
  # coverage for the code under test; the harness's own checks go without it
  set(_fz_cov -fsanitize=fuzzer-no-link)
  # the harness itself is held to the project's warnings
  set(_fz_warn -Wall -Wextra -Wno-unused-parameter -Wshadow)
  if(POLREC_WERROR)
    list(APPEND _fz_warn -Werror)
  endif()

  # pr_fuzz_object(VAR SOURCE [extra flags...]): compile SOURCE to an object
  function(pr_fuzz_object var src)
    get_filename_component(_abs ${src} ABSOLUTE BASE_DIR ${PROJECT_SOURCE_DIR})
    file(RELATIVE_PATH _rel ${PROJECT_SOURCE_DIR} ${_abs})
    if(_rel MATCHES "^\\.\\.")
      file(RELATIVE_PATH _rel ${CMAKE_BINARY_DIR} ${_abs})
      set(_rel gen/${_rel})
    endif()
    string(REPLACE "/" "_" _obj ${_rel})
    set(_o ${_fz_dir}/obj/${_obj}.o)
    add_custom_command(OUTPUT ${_o}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${_fz_dir}/obj
      COMMAND ${POLREC_FUZZ_CC} ${_fz_cflags} ${ARGN} -MD -MF ${_o}.d -c ${_abs} -o ${_o}
      DEPFILE ${_o}.d
      COMMENT "clang (fuzz) ${_rel}" VERBATIM)
    set(${var} ${_o} PARENT_SCOPE)
  endfunction()

  # The product's sources are those of its libraries, whatever they become.
  get_target_property(_fz_policy_srcs polrec_policy SOURCES)
  get_target_property(_fz_store_srcs polrec_store SOURCES)
  get_target_property(_fz_render_srcs polrec_render SOURCES)
  get_target_property(_fz_polq_srcs polq SOURCES)
  # (generated sources, e.g. the embedded default policy, exist once those
  # targets are built: fuzz_targets depends on them; each object's depfile
  # names its source, so a regenerated one is recompiled)
  set(_fz_policy_objs)
  list(FILTER _fz_policy_srcs INCLUDE REGEX "\\.c$")
  list(FILTER _fz_store_srcs INCLUDE REGEX "\\.c$")
  list(FILTER _fz_render_srcs INCLUDE REGEX "\\.c$")
  list(FILTER _fz_polq_srcs INCLUDE REGEX "\\.c$")
  foreach(_s ${_fz_policy_srcs})
    pr_fuzz_object(_o ${_s} ${_fz_cov})
    list(APPEND _fz_policy_objs ${_o})
  endforeach()
  set(_fz_store_objs)
  foreach(_s ${_fz_store_srcs} ${_fz_render_srcs})
    pr_fuzz_object(_o ${_s} ${_fz_cov})
    list(APPEND _fz_store_objs ${_o})
  endforeach()
  pr_fuzz_object(_fz_common tests/fuzz/fuzz_common.c ${_fz_warn})
  # polq.c as it is: its main renamed, its store opens redirected to the
  # store the harness prepared, its signals, sleeps and pager replaced
  # (see fuzz_polq_args.c)
  set(_fz_polq)
  foreach(_s ${_fz_polq_srcs})
    pr_fuzz_object(_o ${_s} ${_fz_cov} -Dmain=polq_main -Dpr_store_open=fz_polq_store_open
                   -Dpr_follow_signals=fz_polq_follow_signals
                   -Dpr_follow_sleep=fz_polq_follow_sleep -Dpr_pager_start=fz_polq_pager_start)
    list(APPEND _fz_polq ${_o})
  endforeach()

  set(_fz_libs ${YAML_LDFLAGS} ${JSONC_LDFLAGS} ${SQLITE_LDFLAGS} ${ZSTD_LDFLAGS}
      ${PCAP_LDFLAGS} ${CRYPTO_LDFLAGS})
  set(_fz_bins)
  foreach(_t policy polq_args render store_open)
    pr_fuzz_object(_main tests/fuzz/fuzz_${_t}.c ${_fz_cov} ${_fz_warn})
    if(_t STREQUAL "policy")
      set(_objs ${_main} ${_fz_common} ${_fz_policy_objs} ${_fz_store_objs})
    elseif(_t STREQUAL "polq_args")
      set(_objs ${_main} ${_fz_polq} ${_fz_common} ${_fz_store_objs})
    else()
      set(_objs ${_main} ${_fz_common} ${_fz_store_objs})
    endif()
    set(_bin ${_fz_dir}/fuzz_${_t})
    add_custom_command(OUTPUT ${_bin}
      COMMAND ${POLREC_FUZZ_CC} ${_fz_san} -fsanitize=fuzzer ${_objs} ${_fz_libs} -o ${_bin}
      DEPENDS ${_objs} COMMENT "clang (fuzz) link fuzz_${_t}" VERBATIM)
    list(APPEND _fz_bins ${_bin})

    add_test(NAME fuzz.${_t}
      COMMAND bash ${PROJECT_SOURCE_DIR}/tests/fuzz/run-fuzzer ${_bin}
              ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${_t} ${_fz_dir}/run/${_t})
    set_tests_properties(fuzz.${_t} PROPERTIES LABELS fuzz TIMEOUT 300
      ENVIRONMENT "POLREC_FUZZ_SECONDS=${POLREC_FUZZ_SECONDS}")
  endforeach()
  add_custom_target(fuzz_targets ALL DEPENDS ${_fz_bins})
  add_dependencies(fuzz_targets polrec_policy polrec_store polrec_render polq)
endif()
