# serial.c: real ports and USB identities through libserialport.
target_link_libraries(hqhal PUBLIC PkgConfig::SERIALPORT)
