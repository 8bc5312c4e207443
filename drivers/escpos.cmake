# ESC/POS ticket renderer and decoder: the layout template is JSON (cJSON);
# GB18030 conversion uses glibc's iconv.
target_link_libraries(hqdrivers PUBLIC PkgConfig::CJSON)
