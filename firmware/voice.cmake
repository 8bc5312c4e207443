# hallqd's voice (hqd_voice.c, picked up by hallqd.cmake's hqd_*.c): clip
# sequences and WAV assembly (hqdrivers), the ALSA/dir announcement queue
# (hqhal, which links libasound). The default pack is the one built into
# BUILD/voice by tools/voice-pack.cmake; a packaged hallqd would set
# HQ_DEFAULT_VOICE_PACK to where it installs the pack.
if(TARGET hallqd)
  target_link_libraries(hallqd PRIVATE hqdrivers hqhal)
  set(HQ_DEFAULT_VOICE_PACK "${CMAKE_BINARY_DIR}/voice" CACHE PATH "voice pack hallqd falls back to")
  target_compile_definitions(hallqd PRIVATE HQ_DEFAULT_VOICE_PACK="${HQ_DEFAULT_VOICE_PACK}")
endif()
