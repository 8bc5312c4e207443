# The Debian package (tools/hallq package; `cpack` in a build dir): the programs, the pages,
# the voice pack, the systemd unit, udev rules, an example /etc/hallq/hall.json and the
# maintainer scripts in tools/debian (hallq user, state folder, secrets on first install).
# A package build configures HQ_DEFAULT_VOICE_PACK=/usr/share/hallq/voice, where the pack
# is installed (tools/hallq package does).
# Deferred to the end of the top directory: tools/*.cmake files after this one (sim, voice
# pack) declare targets it installs.
function(hq_package_rules)
foreach(_prog hallqd hallqctl hallq-sim hallq-central)
  if(TARGET ${_prog})
    install(TARGETS ${_prog} RUNTIME DESTINATION bin)
  endif()
endforeach()
install(DIRECTORY ${CMAKE_SOURCE_DIR}/firmware/web/ DESTINATION share/hallq/web)
if(TARGET voice-pack)
  install(DIRECTORY ${CMAKE_BINARY_DIR}/voice/ DESTINATION share/hallq/voice)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/config/hallqd.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/config/99-hallq.rules DESTINATION /lib/udev/rules.d)
install(FILES ${CMAKE_SOURCE_DIR}/config/hall.example.json DESTINATION /etc/hallq RENAME hall.json)
install(FILES ${CMAKE_SOURCE_DIR}/config/demo-hall.json ${CMAKE_SOURCE_DIR}/config/test-hall.json
        DESTINATION share/doc/hallq/examples)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/hallq)
file(GLOB _hq_docs ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${_hq_docs} DESTINATION share/doc/hallq)
# The state folder; postinst gives it to the hallq user (the unit's StateDirectory too).
install(DIRECTORY DESTINATION /var/lib/hallq)

file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "/etc/hallq/hall.json\n")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hallq)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "hallq maintainers <hallq@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "service hall queue system (排队叫号与好差评)")
set(CPACK_PACKAGE_DESCRIPTION "hallqd runs a government service hall's queue: ticket kiosks, \
clerk keypads, LED bars, voice calls, rating pads, the hall display and the up-link to the \
central server.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# procps: the unit's ExecReload runs /bin/kill, which Debian's minimal base does not have
# (found by systemd-analyze verify in the install test, tests/package/install-test.py).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, systemd, init-system-helpers, procps")
# xfonts-wqy: the default font of Onbon screens (drivers/onbon.c); only halls with one need it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cups, xfonts-wqy")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/tools/debian/postinst;${CMAKE_SOURCE_DIR}/tools/debian/prerm;${CMAKE_SOURCE_DIR}/tools/debian/postrm;${CMAKE_BINARY_DIR}/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES ON)
include(CPack)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL hq_package_rules)
