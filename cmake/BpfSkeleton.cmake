# bpf_skeleton(NAME SOURCE x.bpf.c): compile a CO-RE BPF object with clang,
# strip it with `bpftool gen object` and generate NAME.skel.h in the build
# tree. Adds an INTERFACE library bpf_skel_NAME whose include directory
# holds the skeleton. vmlinux.h is dumped once from the running kernel's
# BTF (or taken from POLREC_VMLINUX_H when set).

find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
set(POLREC_VMLINUX_H "" CACHE FILEPATH "prepared vmlinux.h (default: dump /sys/kernel/btf/vmlinux)")
set(POLREC_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "kernel BTF to generate vmlinux.h from")

set(_bpf_gen ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${_bpf_gen})
if(POLREC_VMLINUX_H)
  add_custom_command(OUTPUT ${_bpf_gen}/vmlinux.h
    COMMAND ${CMAKE_COMMAND} -E copy ${POLREC_VMLINUX_H} ${_bpf_gen}/vmlinux.h
    DEPENDS ${POLREC_VMLINUX_H} VERBATIM)
else()
  add_custom_command(OUTPUT ${_bpf_gen}/vmlinux.h
    COMMAND ${BPFTOOL} btf dump file ${POLREC_BTF} format c > ${_bpf_gen}/vmlinux.h.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${_bpf_gen}/vmlinux.h.tmp ${_bpf_gen}/vmlinux.h
    COMMENT "vmlinux.h from ${POLREC_BTF}")
endif()
add_custom_target(vmlinux_h DEPENDS ${_bpf_gen}/vmlinux.h)

function(bpf_skeleton NAME)
  cmake_parse_arguments(B "" "SOURCE" "" ${ARGN})
  get_filename_component(_src ${B_SOURCE} ABSOLUTE)
  get_filename_component(_srcdir ${_src} DIRECTORY)
  set(_obj ${_bpf_gen}/${NAME}.tmp.o)
  set(_lnk ${_bpf_gen}/${NAME}.bpf.o)
  set(_skel ${_bpf_gen}/${NAME}.skel.h)
  add_custom_command(OUTPUT ${_obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86
            -Wall -Werror -Wno-unused-function
            -I${_bpf_gen} -I${_srcdir}
            -MD -MF ${_obj}.d
            -c ${_src} -o ${_obj}
    DEPENDS ${_src} ${_bpf_gen}/vmlinux.h
    DEPFILE ${_obj}.d
    COMMENT "BPF ${NAME}" VERBATIM)
  add_custom_command(OUTPUT ${_lnk}
    COMMAND ${BPFTOOL} gen object ${_lnk} ${_obj}
    DEPENDS ${_obj} VERBATIM)
  add_custom_command(OUTPUT ${_skel}
    COMMAND ${BPFTOOL} gen skeleton ${_lnk} name ${NAME} > ${_skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${_skel}.tmp ${_skel}
    DEPENDS ${_lnk} VERBATIM)
  add_custom_target(bpf_skel_${NAME}_gen DEPENDS ${_skel})
  add_library(bpf_skel_${NAME} INTERFACE)
  target_include_directories(bpf_skel_${NAME} INTERFACE ${_bpf_gen})
  add_dependencies(bpf_skel_${NAME} bpf_skel_${NAME}_gen)
endfunction()
