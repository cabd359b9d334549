HOST_TESTS += grant
HOST_SRCS_grant := tests/host/test_grant.c libsys/src/grant.c
