# The default voice pack (tools/make-voice-pack.sh): espeak-ng clips made at
# build time into BUILD/voice, the pack hallqd uses when voice.pack is empty
# (HQ_DEFAULT_VOICE_PACK, firmware/voice.cmake), so the demo speaks with no
# downloads. Made again only when the script changes.
find_program(HQ_ESPEAK espeak-ng)
find_program(HQ_SOX sox)
if(NOT HQ_ESPEAK OR NOT HQ_SOX)
  message(FATAL_ERROR "the voice pack needs espeak-ng and sox: apt-get install espeak-ng sox")
endif()
set(HQ_VOICE_PACK_DIR ${CMAKE_BINARY_DIR}/voice)
add_custom_command(
  OUTPUT ${HQ_VOICE_PACK_DIR}/README
  COMMAND sh ${CMAKE_SOURCE_DIR}/tools/make-voice-pack.sh ${HQ_VOICE_PACK_DIR}
  DEPENDS ${CMAKE_SOURCE_DIR}/tools/make-voice-pack.sh
  COMMENT "Making the default voice pack with espeak-ng"
  VERBATIM)
add_custom_target(voice-pack ALL DEPENDS ${HQ_VOICE_PACK_DIR}/README)
if(TARGET hallqd)
  add_dependencies(hallqd voice-pack)
endif()
