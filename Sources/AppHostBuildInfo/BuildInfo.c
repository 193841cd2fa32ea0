#include "AppHostBuildInfo.h"

// Package.swift defines APPHOST_BUILD_COMMIT (a string literal) for this file only, when it is known.
#ifdef APPHOST_BUILD_COMMIT
static const char commit[] = APPHOST_BUILD_COMMIT;
#else
static const char commit[] = "";
#endif

const char *apphost_build_commit(void) { return commit; }
