# Central sync: the codec (SLIP, sync frame, bodies, retry policy) and the
# reference central server.
hq_unit_test(test_slip SOURCES unit/test_slip.c LIBS hqsync)
hq_unit_test(test_sync_proto SOURCES unit/test_sync_proto.c LIBS hqsync)
