# pr_embed(OUT SYMBOL FILE): generate OUT, a C file defining
#   const char SYMBOL[] (the bytes of FILE, NUL-terminated) and
#   const size_t SYMBOL_len (without the NUL).
function(pr_embed OUT SYMBOL FILE)
  get_filename_component(_in ${FILE} ABSOLUTE)
  add_custom_command(OUTPUT ${OUT}
    COMMAND ${CMAKE_COMMAND} -DIN=${_in} -DOUT=${OUT} -DSYMBOL=${SYMBOL}
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    DEPENDS ${_in} ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake VERBATIM)
endfunction()
