# The Debian package (tools/hallq package; `cpack` in a build dir): the programs, the pages,
# the voice pack, the systemd unit, udev rules, an example /etc/hallq/hall.json and the
# maintainer scripts in tools/debian (hallq user, state folder, secrets on first install).
# A package build configures HQ_DEFAULT_VOICE_PACK=/usr/share/hallq/voice, where the pack
# is installed (tools/hallq package does).
# Deferred to the end of the top directory: tools/*.cmake files after this one (sim, voice
# pack) declare targets it installs.
# Two packages (cpack components): hallq, the hall box (component hall: everything not
# marked otherwise), and hallq-central, the central server (component central), so that
# the box never pulls in libpq and a city's server none of the box's devices (issue 19).
function(hq_package_rules)
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME hall)
foreach(_prog hallqd hallqctl hallq-sim)
  if(TARGET ${_prog})
    install(TARGETS ${_prog} RUNTIME DESTINATION bin COMPONENT hall)
  endif()
endforeach()
if(TARGET hallq-central)
  install(TARGETS hallq-central RUNTIME DESTINATION bin COMPONENT central)
  install(FILES ${CMAKE_SOURCE_DIR}/config/hallq-central.service DESTINATION /lib/systemd/system
          COMPONENT central)
  install(FILES ${CMAKE_SOURCE_DIR}/config/hallq-central.default DESTINATION /etc/default
          RENAME hallq-central COMPONENT central)
  install(FILES ${CMAKE_SOURCE_DIR}/docs/CENTRAL.md ${CMAKE_SOURCE_DIR}/docs/SYNC.md
          DESTINATION share/doc/hallq-central COMPONENT central)
  # The schema as applied (it is built into the program too), for a DBA to read.
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/tools/central/sql/ DESTINATION share/hallq-central/sql
          COMPONENT central)
endif()
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
file(WRITE ${CMAKE_BINARY_DIR}/debian-central/conffiles "/etc/default/hallq-central\n")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL hall central)
set(CPACK_DEBIAN_HALL_PACKAGE_NAME hallq)
set(CPACK_DEBIAN_CENTRAL_PACKAGE_NAME hallq-central)
set(CPACK_COMPONENT_CENTRAL_DESCRIPTION "hallq central server (数据上报与预约)
hallq-central receives the halls' records (tickets, events, evaluations) into
PostgreSQL or SQLite, exactly once, hands out appointments, and shows managers the
halls of their region. Any number of receivers share one PostgreSQL database.")
set(CPACK_DEBIAN_CENTRAL_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_CENTRAL_PACKAGE_SUGGESTS "postgresql, nginx | haproxy")
set(CPACK_DEBIAN_CENTRAL_PACKAGE_CONTROL_EXTRA "${CMAKE_BINARY_DIR}/debian-central/conffiles")
set(CPACK_DEBIAN_CENTRAL_PACKAGE_SECTION net)
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
set(CPACK_DEBIAN_HALL_PACKAGE_DEPENDS "adduser, systemd, init-system-helpers, procps")
# xfonts-wqy: the default font of Onbon screens (drivers/onbon.c); only halls with one need it.
set(CPACK_DEBIAN_HALL_PACKAGE_RECOMMENDS "cups, xfonts-wqy")
set(CPACK_DEBIAN_HALL_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/tools/debian/postinst;${CMAKE_SOURCE_DIR}/tools/debian/prerm;${CMAKE_SOURCE_DIR}/tools/debian/postrm;${CMAKE_BINARY_DIR}/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_STRIP_FILES ON)
include(CPack)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL hq_package_rules)
