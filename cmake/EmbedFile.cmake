# cmake -DIN=file -DOUT=file.c -DSYMBOL=name -P EmbedFile.cmake
file(READ ${IN} _hex HEX)
string(LENGTH "${_hex}" _n)
math(EXPR _len "${_n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _arr "${_hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" _arr "${_arr}")
file(WRITE ${OUT}.tmp "/* generated from ${IN} */\n#include <stddef.h>\nconst char ${SYMBOL}[] = {\n${_arr}0x00};\nconst size_t ${SYMBOL}_len = ${_len};\n")
file(RENAME ${OUT}.tmp ${OUT})
