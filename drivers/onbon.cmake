# Onbon BX-5E screens (onbon.c): text becomes a one-bit bitmap with FreeType, from the
# WenQuanYi bitmap fonts of Debian's xfonts-wqy unless a bus names another font.
if(NOT TARGET PkgConfig::FREETYPE)
  pkg_check_modules(FREETYPE REQUIRED IMPORTED_TARGET freetype2)
endif()
target_link_libraries(hqdrivers PUBLIC PkgConfig::FREETYPE)
set(HQ_ONBON_FONT_DIR "/usr/share/fonts/X11/misc" CACHE STRING
    "where drivers/onbon.c looks for the default WenQuanYi bitmap fonts (xfonts-wqy)")
set_property(SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/onbon.c APPEND PROPERTY COMPILE_DEFINITIONS
             HQ_ONBON_FONT_DIR="${HQ_ONBON_FONT_DIR}")
