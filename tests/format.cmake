# Formatting is part of the build's contract (STYLE.md): every C file in the
# tree must already be as the checked-in .clang-format makes it.
find_program(HQ_CLANG_FORMAT clang-format)
if(HQ_CLANG_FORMAT)
  add_test(NAME format_check
           COMMAND sh -c "f=$(git ls-files '*.c' '*.h') && test -n \"$f\" && ${HQ_CLANG_FORMAT} --dry-run -Werror $f"
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
else()
  message(FATAL_ERROR "clang-format is needed for the format check (tools/debian-packages.txt)")
endif()
